"""`vantage logs EXECUTION_ID`: an execution's log, optionally followed to its end."""

import time
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
from vantagepoint.cli.commands._output import print_json, print_logs
from vantagepoint.client import Client


def _follow(client: Client, execution_id: int, poll: float) -> None:
    """Print new lines until the execution is final and nothing more arrives."""
    execution = client.execution(execution_id)
    after = None
    while True:
        final = execution.done
        lines = client.logs(execution_id, after=after)
        print_logs(out, lines)
        after = lines[-1]["id"] if lines else after
        if final:
            return
        time.sleep(poll)
        execution.refresh()


def logs(
    execution_id: Annotated[int, typer.Argument(help="Execution id.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow until it ends.")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between polls.")] = 1.0,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Print an execution's log lines, oldest first."""
    with connect(url, token, data) as client:
        if follow and not json:
            try:
                _follow(client, execution_id, poll)
            except KeyboardInterrupt:
                raise typer.Exit(130) from None
            return
        lines = client.logs(execution_id)
    if json:
        print_json(lines)
    else:
        print_logs(out, lines)


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
