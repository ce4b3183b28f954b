"""`vantage tools`: the tool versions the fleet offers, or (--errors) the broken plugins."""

from typing import Annotated

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
from vantagepoint.cli.commands._output import jsonable, print_json
from vantagepoint.wire import NodeOut, ToolOut


def _tools_table(tools: list[ToolOut]) -> Table:
    table = Table(title="Tools")
    for column in ("tool", "version", "nodes", "results", "description"):
        table.add_column(column)
    for tool in sorted(tools, key=lambda t: (t.name, t.version)):
        results = ", ".join(str(r.get("name")) for r in tool.results)
        if tool.dynamic_results:
            results = (results + ", " if results else "") + "(from config)"
        table.add_row(Text(tool.name), Text(tool.version), Text(", ".join(tool.nodes)),
                      Text(results), Text(tool.description))
    return table


def _error_rows(nodes: list[NodeOut]) -> list[dict[str, str]]:
    return [{"node": n.name, "tool": tool, "error": error}
            for n in nodes for tool, error in sorted(n.tool_errors.items())]


def _errors_table(rows: list[dict[str, str]]) -> Table:
    table = Table(title="Tool plugins that failed to load")
    for column in ("node", "tool", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(row[c]) for c in ("node", "tool", "error")))
    return table


def tools(
    errors: Annotated[bool, typer.Option("--errors", help="List nodes' broken plugins.")] = False,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """List tools offered by the fleet (with --errors: plugins that failed to load)."""
    with connect(url, token, data) as client:
        found = _error_rows(client.nodes()) if errors else client.tools()
    if json:
        print_json(jsonable(found))
    elif errors:
        out.print(_errors_table(found) if found else "no broken tool plugins")
    else:
        out.print(_tools_table(found))


def register(app: typer.Typer) -> None:
    app.command("tools")(tools)
