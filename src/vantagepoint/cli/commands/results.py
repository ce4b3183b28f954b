"""`vantage results`: query results, as a table, a summary, JSON or CSV."""

import csv
import json as jsonlib
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    out,
)
from vantagepoint.cli.commands._output import print_json, summary_table, when

COLUMNS = ("id", "execution", "node", "action", "name", "ts", "value")


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else jsonlib.dumps(value)


def _shown(value: Any) -> str:
    """A value for a table: floats to six significant digits."""
    return f"{value:.6g}" if isinstance(value, float) else _cell(value)


def _table(results: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(results)} results")
    for column in COLUMNS:
        table.add_column("time" if column == "ts" else column, no_wrap=column == "ts")
    for item in results:
        table.add_row(*(Text(when(item["ts"]) if c == "ts" else _shown(item[c])) for c in COLUMNS))
    return table


def _write_csv(results: list[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(COLUMNS)
    for item in results:
        writer.writerow([_cell(item[c]) if c == "value" else item[c] for c in COLUMNS])


def results(
    execution: Annotated[int | None, typer.Option("--execution", "-e", help="Execution.")] = None,
    node: Annotated[str | None, typer.Option("--node", help="Node name.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Action name.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Result name.")] = None,
    since: Annotated[float | None, typer.Option("--since", help="Epoch seconds (from).")] = None,
    until: Annotated[float | None, typer.Option("--until", help="Epoch seconds (before).")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Count/min/avg/max only.")] = False,
    json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """Query results (all pages) as a table, a summary, JSON or CSV."""
    if json and as_csv:
        fail("give at most one of --json and --csv")
    with connect(url, token, data) as client:
        found = client.results(execution, node, action, name, since, until)
    if json:
        print_json(found)
    elif as_csv:
        _write_csv(found)
    else:
        out.print(summary_table(found) if summary else _table(found))


def register(app: typer.Typer) -> None:
    app.command("results")(results)
