"""`vantage alarms` lists alarms; `vantage alarm ack ID` acknowledges one."""

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


def alarm_table(found: list[dict[str, Any]]) -> Table:
    table = Table(title="Alarms")
    for column in ("id", "time", "execution", "node", "action", "condition", "value",
                   "acknowledged"):
        table.add_column(column, no_wrap=column in ("time", "condition"))
    for a in found:
        acked = f"{a['acked_by']} {when(a['acked_at'])}" if a.get("acked_at") else ""
        table.add_row(str(a["id"]), when(a["ts"]), str(a["execution"]), a["node"],
                      a["action"], Text(a["condition"], style="red" if not acked else ""),
                      f"{a['value']:g}", Text(acked))
    return table


def alarms(
    execution: Annotated[int | None, typer.Option("--execution", help="Only of it.")] = None,
    node: Annotated[str | None, typer.Option("--node", help="Only from this node.")] = None,
    unacked: Annotated[bool, typer.Option("--unacked", help="Only unacknowledged.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """List alarms of your executions, newest first."""
    with connect(url, token, data) as client:
        found = client.alarms(execution=execution, node=node, limit=limit,
                              acked=False if unacked else None)
    if json:
        print_json(found)
    else:
        out.print(alarm_table(found))


alarm_app = typer.Typer(help="Act on one alarm.", no_args_is_help=True)


@alarm_app.command("ack")
def ack(
    alarm_id: Annotated[int, typer.Argument(metavar="ID", help="The alarm's id.")],
    note: Annotated[str | None, typer.Option("--note", help="Why, or what was done.")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Acknowledge an alarm."""
    with connect(url, token, data) as client:
        done = client.ack_alarm(alarm_id, note)
    if json:
        print_json(done)
    else:
        out.print(f"alarm {done['id']} acknowledged by {done['acked_by']}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("alarms")(alarms)
    app.add_typer(alarm_app, name="alarm")
