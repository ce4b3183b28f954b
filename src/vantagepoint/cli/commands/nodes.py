"""`vantage nodes`: the fleet, its interfaces, tools and health."""

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
from vantagepoint.cli.commands._output import jsonable, print_json, when
from vantagepoint.wire import NodeOut

SKEW_WARN_MS = 500.0  # what the agent itself warns about


def _table(nodes: list[NodeOut]) -> Table:
    table = Table(title="Nodes")
    for column in ("name", "online", "last seen", "clock", "interfaces", "tools", "attributes"):
        table.add_column(column, no_wrap=column == "last seen")
    for node in nodes:
        interfaces = ", ".join(f"{i.name}={i.device}" if i.device else i.name
                               for i in node.interfaces)
        attributes = ", ".join(f"{k}={v}" for k, v in sorted(node.attributes.items()))
        online = "[green]yes[/]" if node.online else "[red]no[/]"
        tools = ", ".join(node.tools) + (f" ({len(node.tool_errors)} broken)"
                                         if node.tool_errors else "")
        table.add_row(Text(node.name), online, when(node.last_seen), clock(node.clock_skew_ms),
                      Text(interfaces),
                      Text(tools), Text(attributes))
    return table


def clock(skew_ms: float | None) -> str:
    """The node's clock against the core's; red past SKEW_WARN_MS."""
    if skew_ms is None:
        return "-"
    # skew is core minus node: a positive one means the node is behind.
    text = f"{abs(skew_ms) / 1000:.2f} s {'behind' if skew_ms > 0 else 'ahead'}"
    return f"[red]{text}[/]" if abs(skew_ms) >= SKEW_WARN_MS else text


def nodes(json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
          data: DataOption = None) -> None:
    """List the nodes the core knows."""
    with connect(url, token, data) as client:
        found = client.nodes()
    if json:
        print_json(jsonable(found))
    else:
        out.print(_table(found))


def register(app: typer.Typer) -> None:
    app.command("nodes")(nodes)
