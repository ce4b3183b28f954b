"""`vantage node-token NODE`: issue the token an agent uses to act as NODE (admin)."""

from typing import Annotated

import typer

from vantagepoint.cli.commands._common import DataOption, TokenOption, UrlOption, connect, err
from vantagepoint.cli.commands._expiry import parse_expires


def node_token(
    node: Annotated[str, typer.Argument(help="The node's name.")],
    label: Annotated[str, typer.Option("--label", help="A note to tell tokens apart.")] = "",
    expires: Annotated[str | None, typer.Option(
        "--expires", help="When it stops working: a duration from now (90d) or an RFC 3339 "
                          "time (default: never).")] = None,
    url: UrlOption = None, token: TokenOption = None, data: DataOption = None,
) -> None:
    """Issue a node token and print its secret (give it to `vantage agent --token`)."""
    with connect(url, token, data) as client:
        secret = client.create_node_token(node, label=label, expires=parse_expires(expires))
    err.print(f"node token for {node!r}; shown only once", style="dim", markup=False)
    print(secret)


def register(app: typer.Typer) -> None:
    app.command("node-token")(node_token)
