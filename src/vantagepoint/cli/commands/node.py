"""`vantage node resume NAME`: clear a node's maintenance (admin)."""

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

node_app = typer.Typer(help="One node's health.", no_args_is_help=True)


@node_app.command("resume")
def resume(
    name: Annotated[str, typer.Argument(help="The node's name.")],
    reason: Annotated[str | None, typer.Option(
        "--reason", show_default=False, help="Why, for whoever reads the node's status.")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Make a node in maintenance active again: it takes work, its agent resumes."""
    with connect(url, token, data) as client:
        updated = client.resume_node(name, reason=reason)
    if json:
        print_json(jsonable(updated))
        return
    out.print(f"node {updated.name} is now {updated.status}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(node_app, name="node")
