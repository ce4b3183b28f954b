"""`vantage calendar`: what is booked on each node in a time window (default: next 24 h)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
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
    out,
)
from vantagepoint.cli.commands._output import print_json, when
from vantagepoint.cli.commands._units import parse_time

DEFAULT_WINDOW = timedelta(hours=24)

NodeOption = Annotated[str | None, typer.Option(
    "--node", show_default=False, help="Only this node (default: the whole fleet).")]
FromOption = Annotated[str | None, typer.Option(
    "--from", metavar="TIME", show_default=False,
    help="Window start: RFC 3339, 'now' or relative like +1h (default: now).")]
ToOption = Annotated[str | None, typer.Option(
    "--to", metavar="TIME", show_default=False,
    help="Window end, exclusive: RFC 3339 or relative to now like +2d (default: from + 24h).")]


def window(start: str | None, end: str | None,
           now: datetime | None = None) -> tuple[datetime, datetime]:
    """The half-open window [from, to) the options give; a usage error unless from < to."""
    now = now or datetime.now(UTC)
    begin = parse_time(start, "--from", now) if start is not None else now
    finish = parse_time(end, "--to", now) if end is not None else begin + DEFAULT_WINDOW
    if finish <= begin:
        raise typer.BadParameter("must be after --from", param_hint="--to")
    return begin, finish


def node_tables(bookings: list[dict[str, Any]]) -> list[Table]:
    """One table per node, by node name, its bookings by start."""
    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for booking in bookings:
        by_node[booking["node"]].append(booking)
    return [_table(node, sorted(items, key=lambda b: b["start"]))
            for node, items in sorted(by_node.items())]


def _table(node: str, bookings: list[dict[str, Any]]) -> Table:
    table = Table(title=node)
    for column in ("start", "end", "schedule", "#", "owner", "scenario", "state", "shared"):
        table.add_column(column, no_wrap=column in ("start", "end"))
    for b in bookings:
        table.add_row(when(b["start"]), when(b["end"]), str(b["schedule"]),
                      str(b["occurrence"]), Text(b["owner"]), Text(b["scenario"]),
                      b["state"], "yes" if b.get("shared") else "")
    return table


def calendar(node: NodeOption = None, start: FromOption = None, end: ToOption = None,
             json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
             data: DataOption = None) -> None:
    """Show the bookings of every node (or one) overlapping a window, sorted by start."""
    begin, finish = window(start, end)
    with connect(url, token, data) as client:
        bookings = client.calendar(node=node, start=begin, end=finish)
    if json:
        print_json(bookings)
        return
    for table in node_tables(bookings):
        out.print(table)
    if not bookings:
        out.print(f"nothing booked{f' on {node}' if node else ''} from {when(begin)} "
                  f"to {when(finish)}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("calendar")(calendar)
