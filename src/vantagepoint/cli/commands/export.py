"""`vantage export`: results and logs as CSV or Parquet, Atlas JSON, daily dumps."""

from __future__ import annotations

import json as jsonlib
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    TokenOption,
    UrlOption,
    connect,
    err,
    out,
)
from vantagepoint.cli.commands._moments import parse_moment
from vantagepoint.cli.commands.stats import SinceOption, UntilOption

export_app = typer.Typer(help="Export results, logs and Atlas records; dump whole days.",
                         no_args_is_help=True)
OutputOption = Annotated[Path | None, typer.Option(
    "--output", "-o", help="File to write (default: standard output).")]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="csv or parquet.")]
ExecutionOption = Annotated[int | None, typer.Option("--execution", "-e")]
NodeOption = Annotated[str | None, typer.Option("--node")]
ActionOption = Annotated[str | None, typer.Option("--action")]


def _format(value: str) -> str:
    if value not in ("csv", "parquet"):
        raise typer.BadParameter(f"expected csv or parquet, got {value!r}",
                                 param_hint="--format")
    return value


def _table(table: str, name: str | None, fmt: str, output: Path | None, execution, node,
           action, since, until, url, token, data) -> None:
    fmt = _format(fmt)
    if output is None and fmt == "parquet" and sys.stdout.isatty():
        raise typer.BadParameter("Parquet is binary: give --output FILE or redirect",
                                 param_hint="--output")
    filters = {"name": name, "execution": execution, "node": node, "action": action,
               "since": parse_moment(since, "--since"), "until": parse_moment(until, "--until")}
    with connect(url, token, data) as client:
        size = client.export(output if output else sys.stdout.buffer, table, fmt, **filters)
    if output:
        err.print(f"wrote {size} bytes to {output}", highlight=False)


@export_app.command("results")
def results(
    name: Annotated[str | None, typer.Option("--name", "-n", help="One result name.")] = None,
    fmt: FormatOption = "csv", output: OutputOption = None, execution: ExecutionOption = None,
    node: NodeOption = None, action: ActionOption = None, since: SinceOption = None,
    until: UntilOption = None, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Results as CSV (value as JSON text) or Parquet, streamed from the core."""
    _table("results", name, fmt, output, execution, node, action, since, until, url, token,
           data)


@export_app.command("logs")
def logs(
    fmt: FormatOption = "csv", output: OutputOption = None, execution: ExecutionOption = None,
    node: NodeOption = None, action: ActionOption = None, since: SinceOption = None,
    until: UntilOption = None, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Execution log lines as CSV or Parquet."""
    _table("logs", None, fmt, output, execution, node, action, since, until, url, token, data)


@export_app.command("atlas")
def atlas(
    kind: Annotated[str | None, typer.Option("--type", help="ping or traceroute.")] = None,
    output: OutputOption = None, execution: ExecutionOption = None, node: NodeOption = None,
    action: ActionOption = None, since: SinceOption = None, until: UntilOption = None,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """Ping and traceroute runs as a JSON array of RIPE Atlas results."""
    filters = {"execution": execution, "node": node, "action": action,
               "since": parse_moment(since, "--since"), "until": parse_moment(until, "--until")}
    with connect(url, token, data) as client:
        found = client.atlas(kind, **filters)
    text = jsonlib.dumps(found)
    if output:
        output.write_text(text)
        err.print(f"wrote {len(found)} records to {output}", highlight=False)
    else:
        print(text)


def _days(day: str | None, days: int) -> list[date]:
    if day is not None:
        try:
            return [date.fromisoformat(day)]
        except ValueError:
            raise typer.BadParameter(f"expected YYYY-MM-DD, got {day!r}",
                                     param_hint="--day") from None
    today = datetime.now(UTC).date()
    return [today - timedelta(days=n) for n in range(days, 0, -1)]


@export_app.command("dump")
def dump(
    directory: Annotated[Path, typer.Argument(help="Where the day folders go.")],
    day: Annotated[str | None, typer.Option("--day", help="One UTC day, YYYY-MM-DD.")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366,
                                      help="The last N finished days (default 1).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Redo days already dumped.")] = False,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """One CSV per table per finished UTC day into DIRECTORY/YYYY-MM-DD/ with a manifest;
    days already dumped are skipped, so it can run from cron every day."""
    with connect(url, token, data) as client:
        for when in _days(day, days):
            manifest = client.dump_day(directory, when, force=force)
            if manifest is None:
                out.print(f"{when}: already dumped", highlight=False)
                continue
            counts = ", ".join(f"{t} {f['rows']}" for t, f in manifest["files"].items())
            out.print(f"{when}: {counts} rows", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
