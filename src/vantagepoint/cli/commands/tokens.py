"""`vantage tokens`: issue, list and revoke API tokens."""

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
    err,
    out,
)
from vantagepoint.cli.commands._expiry import parse_expires
from vantagepoint.cli.commands._output import print_json, when

group = typer.Typer(help="Issue, list and revoke API tokens.", no_args_is_help=True)
ScopeOption = Annotated[list[str] | None, typer.Option(
    "--scope", help="What the token may do: read, schedule or admin; repeat for several "
                    "(default: all the owner's role allows).")]
ExpiresOption = Annotated[str | None, typer.Option(
    "--expires", help="When it stops working: a duration from now (30d, 12h) or an RFC 3339 "
                      "time (default: never).")]
SCOPES = ("read", "schedule", "admin")


@group.command("create")
def create(
    user: Annotated[str | None, typer.Option("--user", help="For this user (admin).")] = None,
    label: Annotated[str, typer.Option("--label", help="A note to tell tokens apart.")] = "",
    scope: ScopeOption = None, expires: ExpiresOption = None,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """Issue a token and print its secret (shown only once)."""
    for name in scope or ():
        if name not in SCOPES:
            raise typer.BadParameter(f"unknown scope {name!r}; use {', '.join(SCOPES)}",
                                     param_hint="--scope")
    when_ = parse_expires(expires)
    with connect(url, token, data) as client:
        secret = client.create_token(label=label, user=user, scopes=scope or None,
                                     expires=when_)
    err.print("the secret is shown only once; keep it safe", style="dim")
    print(secret)


@group.command("list")
def list_tokens(json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
                data: DataOption = None) -> None:
    """List your tokens (an admin sees every token)."""
    with connect(url, token, data) as client:
        found = client.tokens()
    if json:
        print_json(found)
        return
    table = Table(title="Tokens")
    for column in ("id", "kind", "owner", "label", "scopes", "created", "expires"):
        table.add_column(column)
    for item in found:
        owner = item.get("user") or item.get("node") or ""
        table.add_row(str(item["id"]), item["kind"], Text(owner), Text(item.get("label", "")),
                      " ".join(item.get("scopes") or []), when(item.get("created_at")),
                      when(item.get("expires_at")) if item.get("expires_at") else "never")
    out.print(table)


@group.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(help="Token id (see `tokens list`).")],
           url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Revoke a token."""
    with connect(url, token, data) as client:
        client.revoke_token(token_id)
    out.print(f"revoked token {token_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="tokens")
