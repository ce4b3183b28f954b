"""`vantage metadata`: the bus messages nodes recorded, by node, topic prefix and time."""

import json as jsonlib
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

SHOWN = 120  # characters of a message in the table; --json shows them whole


def _table(items: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(items)} messages")
    for column in ("time", "node", "topic", "message"):
        table.add_column(column, no_wrap=column != "message")
    for item in items:
        fields = {k: v for k, v in item["message"].items()
                  if k not in ("Timestamp", "NodeId", "DataId", "DataVersion")}
        text = jsonlib.dumps(fields, separators=(",", ":"))
        table.add_row(when(item["ts"]), Text(item["node"]), Text(item["topic"]),
                      Text(text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."))
    return table


def metadata(
    node: Annotated[str | None, typer.Option("--node", help="Node name.")] = None,
    topic: Annotated[str | None, typer.Option(
        "--topic", help="Topic prefix, e.g. MONROE.META.DEVICE.GPS.")] = None,
    since: Annotated[float | None, typer.Option("--since", help="Epoch seconds (from).")] = None,
    until: Annotated[float | None, typer.Option("--until", help="Epoch seconds (before).")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Query recorded node metadata (all pages) as a table or JSON."""
    with connect(url, token, data) as client:
        found = client.metadata(node, topic, since, until)
    if json:
        print_json(found)
    else:
        out.print(_table(found))


def register(app: typer.Typer) -> None:
    app.command("metadata")(metadata)
