"""`vantage executions`: list executions, newest first."""

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
from vantagepoint.cli.commands._output import print_json, when
from vantagepoint.client import Execution

STATE_STYLES = {"finished": "green", "failed": "red", "canceled": "yellow", "running": "cyan"}


def _table(executions: list[Execution]) -> Table:
    table = Table(title="Executions")
    for column in ("id", "scenario", "state", "start", "duration s", "nodes", "reason"):
        table.add_column(column, no_wrap=column == "start")
    for ex in executions:
        state = ex.state.value
        nodes = ", ".join(f"{n['node']}:{n['state']}" for n in ex.data.get("nodes", []))
        table.add_row(str(ex.id), f"{ex.scenario} v{ex.data.get('scenario_version', '?')}",
                      f"[{STATE_STYLES.get(state, '')}]{state}[/]", when(ex.data.get("start_at")),
                      f"{ex.data.get('duration', 0):g}", Text(nodes), Text(ex.reason or ""))
    return table


def executions(
    state: Annotated[str | None, typer.Option("--state", help="Only in this state.")] = None,
    scenario: Annotated[str | None, typer.Option("--scenario", help="Only of it.")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """List executions, newest first."""
    with connect(url, token, data) as client:
        found = client.executions(state=state, scenario=scenario)
    if json:
        print_json([ex.data for ex in found])
    else:
        out.print(_table(found))


def register(app: typer.Typer) -> None:
    app.command("executions")(executions)
