"""`vantage run FILE --duration S`: submit, start now, watch, summarise the results."""

from typing import Annotated

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    out,
    say_error,
)
from vantagepoint.cli.commands._output import print_json, summary_table
from vantagepoint.cli.commands._watch import watch
from vantagepoint.cli.commands.submit import FileArgument
from vantagepoint.client import Execution, Scenario
from vantagepoint.wire import ExecState

DurationOption = Annotated[float, typer.Option(
    "--duration", "-d", min=0.001, help="Seconds the execution runs."
)]
TimeoutOption = Annotated[float | None, typer.Option(
    "--timeout", show_default=False,
    help="Give up waiting after this many seconds (default: duration + 180).",
)]


def run(file: FileArgument, duration: DurationOption, json: JsonOption = False,
        timeout: TimeoutOption = None, url: UrlOption = None, token: TokenOption = None,
        data: DataOption = None) -> None:
    """Submit a scenario, execute it now and summarise its results; exit 1 unless finished."""
    limit = duration + 180 if timeout is None else timeout
    with connect(url, token, data) as client:
        scenario = Scenario.from_file(file)
        execution = client.start(scenario, duration)
        _follow(execution, limit, quiet=json)
        results = execution.results()
    if json:
        print_json({"execution": execution.data, "results": results})
    else:
        out.print(summary_table(results, title=f"Results of execution {execution.id}"))
    if execution.state != ExecState.FINISHED:
        reason = execution.reason or "no reason given"
        fail(f"execution {execution.id} {execution.state.value}: {reason}")


def _follow(execution: Execution, timeout: float, quiet: bool) -> None:
    """Wait for the end; Ctrl-C cancels the execution, a timeout leaves it running."""
    try:
        if quiet:
            execution.wait(timeout=timeout)
        else:
            watch(execution, out, timeout=timeout)
    except KeyboardInterrupt:
        say_error(f"interrupted: canceling execution {execution.id}")
        execution.cancel()
        raise typer.Exit(130) from None
    except TimeoutError as exc:
        fail(f"{exc}; it goes on in the core (see `vantage executions`)")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
