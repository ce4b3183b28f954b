"""`vantage stats`: statistics of a result per group, or its time buckets, in a table."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands._moments import parse_moment
from vantagepoint.cli.commands._output import print_json, when

SinceOption = Annotated[str | None, typer.Option(
    "--since", help="From (inclusive): epoch s, RFC 3339, now, or ago like -2h.")]
UntilOption = Annotated[str | None, typer.Option(
    "--until", help="Before (exclusive): epoch s, RFC 3339, now, or ago like -5m.")]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _key_columns(table: Table, by: list[str]) -> None:
    for key in by:
        table.add_column(key)


def _key_cells(by: list[str], key: dict[str, Any]) -> list[str]:
    return ["-" if key.get(k) is None else str(key[k]) for k in by]


def stats_table(found: dict[str, Any]) -> Table:
    """One row per group: its key, count, min, mean, stddev, percentiles, max, loss."""
    by = found["by"]
    labels = list(found["groups"][0]["percentiles"]) if found["groups"] else []
    table = Table(title=f"{found['name']}: {len(found['groups'])} groups")
    _key_columns(table, by)
    for column in ("count", "min", "mean", "stddev", *(f"p{q}" for q in labels), "max",
                   "loss %"):
        table.add_column(column, justify="right")
    for g in found["groups"]:
        table.add_row(*_key_cells(by, g["key"]), str(g["count"]), _num(g["min"]),
                      _num(g["mean"]), _num(g["stddev"]),
                      *(_num(g["percentiles"][q]) for q in labels), _num(g["max"]),
                      _num(g["loss_pct"]))
    return table


def buckets_table(found: dict[str, Any]) -> Table:
    """One row per non-empty bucket of every series."""
    by = found["by"]
    width = found["width"]
    table = Table(title=f"{found['name']}: {found['buckets']} buckets"
                        + (f" of {width:.6g} s" if width else ""))
    _key_columns(table, by)
    for column in ("start", "count", "min", "mean", "max"):
        table.add_column(column, justify="left" if column == "start" else "right")
    for series in found["series"]:
        for b in series["buckets"]:
            table.add_row(*_key_cells(by, series["key"]), when(b["start"]), str(b["count"]),
                          _num(b["min"]), _num(b["mean"]), _num(b["max"]))
    return table


def _percentiles(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise typer.BadParameter(f"expected numbers like 50,90,99, got {text!r}",
                                 param_hint="--percentiles") from None


def stats(
    name: Annotated[str, typer.Argument(help="The result name, e.g. rtt_ms.")],
    by: Annotated[list[str] | None, typer.Option(
        "--by", "-b", help="Group by node, interface, action, execution or param:NAME "
                           "(repeat or comma-separate).")] = None,
    percentiles: Annotated[str | None, typer.Option(
        "--percentiles", "-p", help="Comma-separated, default 50,90,95,99.")] = None,
    buckets: Annotated[int | None, typer.Option(
        "--buckets", help="Show N time buckets (count/min/mean/max) instead.", min=1,
        max=10000)] = None,
    execution: Annotated[int | None, typer.Option("--execution", "-e")] = None,
    node: Annotated[str | None, typer.Option("--node")] = None,
    action: Annotated[str | None, typer.Option("--action")] = None,
    since: SinceOption = None, until: UntilOption = None, json: JsonOption = False,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """Statistics of one result per group (count, min, mean, stddev, percentiles, max,
    loss), computed by the core; or with --buckets, the result over time."""
    filters = {"execution": execution, "node": node, "action": action,
               "since": parse_moment(since, "--since"), "until": parse_moment(until, "--until")}
    groups = ",".join(by) if by else None
    qs = _percentiles(percentiles)
    with connect(url, token, data) as client:
        if buckets is not None:
            found = client.buckets(name, buckets, groups, **filters)
        else:
            found = client.stats(name, groups, qs, **filters)
    if json:
        print_json(found)
    else:
        out.print(buckets_table(found) if buckets is not None else stats_table(found))


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
