"""`vantage node-status NODE STATUS`: put a node in maintenance, disable it or reactivate it."""

from enum import StrEnum
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands._output import jsonable, print_json


class Status(StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    DISABLED = "disabled"


def node_status(
    node: Annotated[str, typer.Argument(help="The node's name.")],
    status: Annotated[Status, typer.Argument(
        help="active: schedulable; maintenance or disabled: given no new work.")],
    reason: Annotated[str | None, typer.Option(
        "--reason", show_default=False, help="Why, for whoever reads the node's status.")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Set a node's scheduling status (admin)."""
    with connect(url, token, data) as client:
        updated = client.set_node_status(node, status.value, reason=reason)
    if json:
        print_json(jsonable(updated))
        return
    why = f" ({reason})" if reason else ""
    out.print(f"node {updated.name} is now {updated.status}{why}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("node-status")(node_status)
