"""`vantage quota`: show your quota; an admin shows or sets another user's."""

from typing import Annotated, Any

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    out,
)
from vantagepoint.cli.commands._output import print_json
from vantagepoint.cli.commands._units import parse_duration, parse_size, show_duration, show_size
from vantagepoint.client import Client

UserOption = Annotated[str | None, typer.Option(
    "--user", show_default=False, help="Admin: show or set this user's quota.")]
NodeSecondsOption = Annotated[str | None, typer.Option(
    "--node-seconds", metavar="DURATION", show_default=False,
    help="Admin, with --user: node-time limit (seconds, or 100d, 12h).")]
DataBytesOption = Annotated[str | None, typer.Option(
    "--data-bytes", metavar="SIZE", show_default=False,
    help="Admin, with --user: data limit (bytes, or 100GB, 1.5GiB).")]


def _percent(used: float, limit: float) -> str:
    return f" ({100 * used / limit:.0f}%)" if limit else ""


def quota_lines(quota: dict[str, Any]) -> list[str]:
    """A quota as what is used of each limit."""
    seconds = (quota["node_seconds_used"], quota["node_seconds_limit"])
    data = (quota["data_bytes_used"], quota["data_bytes_limit"])
    return [f"user {quota['user']}",
            f"node time: {show_duration(seconds[0])} used of {show_duration(seconds[1])}"
            f"{_percent(*seconds)}",
            f"data: {show_size(data[0])} used of {show_size(data[1])}{_percent(*data)}"]


def _lookup(client: Client, user: str | None, limits: dict[str, Any]) -> dict[str, Any]:
    if user is None:
        return client.quota()
    if any(v is not None for v in limits.values()):
        return client.set_quota(user, **limits)
    found = [q for q in client.quotas() if q["user"] == user]
    return found[0] if found else fail(f"no quota known for user {user!r}")


def quota(user: UserOption = None, node_seconds: NodeSecondsOption = None,
          data_bytes: DataBytesOption = None, json: JsonOption = False,
          url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Show your node-time and data quota; an admin sets a user's with --user and limits."""
    if user is None and (node_seconds is not None or data_bytes is not None):
        raise typer.BadParameter("setting a limit needs --user", param_hint="--user")
    limits = {"node_seconds_limit": None if node_seconds is None else
              parse_duration(node_seconds, "--node-seconds", zero_ok=True),
              "data_bytes_limit": None if data_bytes is None else parse_size(data_bytes)}
    with connect(url, token, data) as client:
        found = _lookup(client, user, limits)
    if json:
        print_json(found)
        return
    for line in quota_lines(found):
        out.print(line, markup=False)


def register(app: typer.Typer) -> None:
    app.command("quota")(quota)
