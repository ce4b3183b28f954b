"""A live progress bar of one execution's time and state until it ends."""

import time
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vantagepoint.client import Execution
from vantagepoint.wire import ExecState


def elapsed(data: dict) -> float:
    """Seconds the execution has run (0 before its synchronised start), within its duration."""
    if not data.get("run_at"):
        return 0.0
    run_at = datetime.fromisoformat(str(data["run_at"]).replace("Z", "+00:00"))
    if run_at.tzinfo is None:
        run_at = run_at.replace(tzinfo=UTC)
    seconds = (datetime.now(UTC) - run_at).total_seconds()
    return max(0.0, min(float(data["duration"]), seconds))


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("execution {task.fields[id]}"),
        TextColumn("[bold]{task.fields[state]:<9}"),
        BarColumn(),
        TextColumn("{task.completed:>5.1f}/{task.total:.0f} s"),
        TimeElapsedColumn(),
        console=console,
    )


def watch(execution: Execution, console: Console, timeout: float | None = None,
          poll: float = 0.5) -> Execution:
    """Refresh until a final state, drawing progress; TimeoutError after ``timeout`` s."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _bar(console) as progress:
        bar = progress.add_task("run", total=float(execution.data["duration"]),
                                id=execution.id, state=execution.state.value)
        while True:
            finished = execution.state == ExecState.FINISHED
            done = float(execution.data["duration"]) if finished else elapsed(execution.data)
            progress.update(bar, completed=done, state=execution.state.value)
            if execution.done:
                return execution
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"execution {execution.id} still {execution.state.value} "
                                   f"after {timeout:.0f} s")
            time.sleep(poll)
            execution.refresh()
