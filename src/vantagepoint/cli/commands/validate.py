"""`vantage validate FILE`: check a spec against the fleet without storing it."""

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands.submit import ActionFlag, FileArgument, TaskFlag, kind_of
from vantagepoint.client.builder import load_document


def validate(file: FileArgument, task: TaskFlag = False, action: ActionFlag = False,
             url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Check a spec against the fleet without storing it; list every problem (exit 1)."""
    kind = kind_of(task, action)
    with connect(url, token, data) as client:
        client.validate(load_document(file), kind=kind)
    out.print("[green]valid[/]")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
