"""`vantage demo`: start a local testbed, run a short ping study, show it, stop."""

import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import errors_reported, fail, out, say_error
from vantagepoint.cli.commands._local import (
    LOCAL_NODE,
    LocalStack,
    StackError,
    free_port,
    interrupt_on_sigterm,
    local_stack,
)
from vantagepoint.cli.commands._output import print_logs, summary_table
from vantagepoint.cli.commands._watch import watch
from vantagepoint.client import Client, Execution, Scenario
from vantagepoint.wire import ExecState

PING_RESULTS = ["rtt_ms", "sent", "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms",
                "rtt_max_ms"]
LOAD_PATTERN = r"^(?P<load1>[0-9.]+) (?P<load5>[0-9.]+)"
# An existing program wrapped without code: the node's load, read once a second
# until the command tool stops it at the end of its period.
LOAD_ARGV = ["sh", "-c", "while :; do cat /proc/loadavg; sleep {every}; done"]


def demo_scenario() -> Scenario:
    """Ping the loopback address and, beside it, wrap a shell loop with the command tool."""
    scenario = Scenario("demo", description="Round-trip times to 127.0.0.1 and node load",
                        tags=["demo"])
    task = scenario.task("loopback")
    task.action("ping", node=LOCAL_NODE, tool="ping",
                config={"target": "127.0.0.1", "interval": 0.2}, results=PING_RESULTS,
                conditions=["rtt_ms > 200"])
    task.action("load", node=LOCAL_NODE, tool="command",
                config={"argv": LOAD_ARGV, "vars": {"every": 1},
                        "parse": [{"pattern": LOAD_PATTERN,
                                   "types": {"load1": "number", "load5": "number"}}]},
                results=["load1", "load5", "exit_status"])
    return scenario


def wait_for_node(client: Client, stack: LocalStack, timeout: float = 30.0) -> None:
    """Wait until the local agent has registered and is online."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        if any(n.name == LOCAL_NODE and n.online for n in client.nodes()):
            return
        time.sleep(0.3)
    raise StackError(f"node {LOCAL_NODE!r} did not come online within {timeout:.0f} s; "
                     f"see {stack.data / 'agent.log'}")


def _study(stack: LocalStack, duration: float) -> Execution:
    """Submit and run the demo scenario, then print its log and result summary."""
    with Client(stack.url, stack.admin_token) as client, errors_reported(stack.url):
        out.print(f"core at {stack.url}; waiting for node {LOCAL_NODE!r}")
        wait_for_node(client, stack)
        scenario = demo_scenario()
        client.submit(scenario)
        execution = watch(client.start(scenario.name, duration), out, timeout=duration + 120)
        out.rule("execution log")
        print_logs(out, execution.logs())
        out.print(summary_table(execution.results(), title=f"Results of execution {execution.id}"))
    return execution


def demo(
    data: Annotated[Path | None, typer.Option(
        "--data", show_default=False, help="Data directory (default: a fresh temporary one).",
    )] = None,
    duration: Annotated[float, typer.Option("--duration", min=1, help="Seconds to measure.")] = 5,
) -> None:
    """Start a local core and agent, run a short ping study, show its results, stop."""
    temporary = data is None
    where = Path(tempfile.mkdtemp(prefix="vantage-demo-")) if data is None else data
    interrupt_on_sigterm()
    try:
        with local_stack(where, "127.0.0.1", free_port()) as stack:
            execution = _study(stack, duration)
    except (StackError, TimeoutError) as exc:
        fail(f"{exc}\n(the demo's files are in {where})")
    except KeyboardInterrupt:
        say_error(f"interrupted (the demo's files are in {where})")
        raise typer.Exit(130) from None
    if execution.state != ExecState.FINISHED:
        fail(f"execution {execution.id} {execution.state.value}: {execution.reason}; "
             f"the demo's files are in {where}")
    if temporary:
        shutil.rmtree(where, ignore_errors=True)
    out.print("[green]demo finished[/]")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
