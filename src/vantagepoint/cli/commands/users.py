"""`vantage users`: add and list users (admin), and show who you are."""

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
from vantagepoint.cli.commands._output import jsonable, print_json, when

group = typer.Typer(help="Manage users (admin).", no_args_is_help=True)


@group.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The new user's name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    password: Annotated[bool, typer.Option(
        "--password", help="Prompt for a password (for the dashboard)."
    )] = False,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """Create a user; then `vantage tokens create --user NAME` gives them a token."""
    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password \
        else None
    with connect(url, token, data) as client:
        user = client.create_user(name, admin=admin, password=secret)
    out.print(f"created {'admin' if user.admin else 'user'} [bold]{user.name}[/]")


@group.command("list")
def list_users(json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
               data: DataOption = None) -> None:
    """List users (admin)."""
    with connect(url, token, data) as client:
        found = client.users()
    if json:
        print_json(jsonable(found))
        return
    table = Table(title="Users")
    for column in ("name", "admin", "created"):
        table.add_column(column)
    for user in found:
        table.add_row(Text(user.name), "yes" if user.admin else "", when(user.created_at))
    out.print(table)


@group.command("me")
def me(url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Show the user the token belongs to."""
    with connect(url, token, data) as client:
        user = client.me()
    out.print(f"{user.name}{' (admin)' if user.admin else ''}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="users")
