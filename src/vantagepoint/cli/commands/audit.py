"""`vantage audit`: the log of admin actions (admin)."""

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
from vantagepoint.cli.commands._moments import parse_moment
from vantagepoint.cli.commands._output import print_json, when

COLUMNS = ("id", "when", "actor", "action", "target", "from", "outcome")


def audit(
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user's actions.")] = None,
    action: Annotated[str | None, typer.Option(
        "--action", help="Only this action (user.create, token.create, token.revoke, "
                         "node_token.create, node.status, quota.set).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only on this target.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="From this time: RFC 3339, epoch seconds or a time ago like -2h.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time.")] = None,
    before: Annotated[int | None, typer.Option(
        "--before", help="Next page: entries older than this id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Most rows.")] = 100,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Show admin actions, newest first: who did what to what, when, from where."""
    filters = {"actor": actor, "action": action, "target": target, "before_id": before,
               "limit": limit, "since": parse_moment(since, "--since"),
               "until": parse_moment(until, "--until")}
    with connect(url, token, data) as client:
        found = client.audit(**filters)
    if json:
        print_json(found)
        return
    table = Table(title="Audit log")
    for column in COLUMNS:
        table.add_column(column)
    for e in found:
        table.add_row(str(e["id"]), when(e["at"]), Text(e["actor"]), e["action"],
                      Text(e["target"]), e.get("address") or "", Text(e["outcome"]))
    out.print(table)
    if len(found) == limit:
        out.print(f"more: --before {found[-1]['id']}", style="dim")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
