"""`vantage schedules`: list schedules (own; an admin sees all)."""

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
from vantagepoint.cli.commands._units import show_duration

STATE_STYLES = {"finished": "green", "failed": "red", "canceled": "yellow", "aborted": "red",
                "started": "cyan", "deployed": "cyan", "active": "cyan"}


def _nodes(item: dict[str, Any]) -> str:
    names = sorted({n for occ in item.get("occurrences", []) for n in occ["nodes"]})
    return ", ".join(names)


def _row(item: dict[str, Any]) -> list[Any]:
    occurrences = item.get("occurrences", [])
    state = str(item.get("state", ""))
    every = item.get("every")
    return [str(item.get("id")), Text(str(item.get("scenario"))), item.get("mode", ""),
            Text(state, style=STATE_STYLES.get(state, "")),
            when(occurrences[0]["start"] if occurrences else None),
            str(len(occurrences)), show_duration(every) if every else "-",
            show_duration(item.get("duration", 0)), Text(_nodes(item))]


def schedule_table(found: list[dict[str, Any]]) -> Table:
    """One row per schedule: its first start, how many occurrences, on which nodes."""
    table = Table(title="Schedules")
    for column in ("id", "scenario", "mode", "state", "first start", "occurrences", "every",
                   "duration", "nodes"):
        table.add_column(column, no_wrap=column == "first start")
    for item in found:
        table.add_row(*_row(item))
    return table


def schedules(
    state: Annotated[str | None, typer.Option("--state", help="Only in this state.")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """List schedules (your own; an admin sees everyone's)."""
    with connect(url, token, data) as client:
        found = client.schedules(state=state)
    if json:
        print_json(found)
    else:
        out.print(schedule_table(found))


def register(app: typer.Typer) -> None:
    app.command("schedules")(schedules)
