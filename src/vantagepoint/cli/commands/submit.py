"""`vantage submit FILE`: store a scenario (or, with --task/--action, a task or action)."""

from pathlib import Path
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    out,
)
from vantagepoint.client import Scenario
from vantagepoint.client.builder import load_document

FileArgument = Annotated[Path, typer.Argument(help="Spec document (.yaml, .yml or .json).")]
TaskFlag = Annotated[bool, typer.Option("--task", help="The file holds a task, not a scenario.")]
ActionFlag = Annotated[bool, typer.Option("--action", help="The file holds an action.")]


def kind_of(task: bool, action: bool) -> str:
    """The API's spec kind chosen by the --task/--action flags."""
    if task and action:
        fail("give at most one of --task and --action")
    return "tasks" if task else "actions" if action else "scenarios"


def submit(file: FileArgument, task: TaskFlag = False, action: ActionFlag = False,
           url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Store a scenario, task or action (a new version when it changed)."""
    kind = kind_of(task, action)
    with connect(url, token, data) as client:
        if kind == "scenarios":
            stored = client.submit(Scenario.from_file(file))
        else:
            put = client.put_task if kind == "tasks" else client.put_action
            stored = put(load_document(file))
    out.print(f"stored {stored['kind']} [bold]{stored['name']}[/] version {stored['version']}")


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
