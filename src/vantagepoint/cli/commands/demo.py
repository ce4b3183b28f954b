"""`vantage demo`: run a short ping study and show it: on a virtual testbed as root,
else on a local core and agent over loopback."""

import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import errors_reported, fail, out, say_error
from vantagepoint.cli.commands._demo_testbed import (
    DESCRIPTION,
    target,
    testbed,
    why_not_testbed,
)
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
from vantagepoint.testbed.errors import TestbedError
from vantagepoint.wire import ExecState

PING_RESULTS = ["rtt_ms", "sent", "received", "loss_pct", "rtt_min_ms", "rtt_avg_ms",
                "rtt_max_ms"]
LOAD_PATTERN = r"^(?P<load1>[0-9.]+) (?P<load5>[0-9.]+)"
# An existing program wrapped without code: the node's load, read once a second
# until the command tool stops it at the end of its period.
LOAD_ARGV = ["sh", "-c", "while :; do cat /proc/loadavg; sleep {every}; done"]


def demo_scenario(node: str = LOCAL_NODE, target: str = "127.0.0.1",
                  interface: str | None = None, name: str = "demo",
                  description: str = "Round-trip times to 127.0.0.1 and node load") -> Scenario:
    """Ping a target and, beside it, wrap a shell loop with the command tool."""
    scenario = Scenario(name, description=description, tags=["demo"])
    task = scenario.task("probe")
    task.action("ping", node=node, tool="ping", interface=interface,
                config={"target": target, "interval": 0.2}, results=PING_RESULTS,
                conditions=["rtt_ms > 200"])
    task.action("load", node=node, tool="command",
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


def _study(url: str, token: str, scenario: Scenario, duration: float,
           stack: LocalStack | None = None) -> Execution:
    """Submit and run the demo scenario, then print its log and result summary."""
    with Client(url, token) as client, errors_reported(url):
        if stack is not None:
            out.print(f"core at {url}; waiting for node {LOCAL_NODE!r}")
            wait_for_node(client, stack)
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
    loopback: Annotated[bool, typer.Option(
        "--loopback", help="Use one local agent on loopback even as root.",
    )] = False,
) -> None:
    """Run a short ping study and show its results: on a two-node virtual testbed when
    run as root, else on a local core and agent over loopback."""
    temporary = data is None
    where = Path(tempfile.mkdtemp(prefix="vantage-demo-")) if data is None else data
    interrupt_on_sigterm()
    try:
        execution = _on_testbed(where, duration, loopback) or _on_loopback(where, duration)
    except (StackError, TimeoutError, TestbedError) as exc:
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


def _on_testbed(where: Path, duration: float, loopback: bool) -> Execution | None:
    """The study on a two-node testbed; None (nothing done) where it cannot run."""
    reason = "--loopback" if loopback else why_not_testbed()
    if reason:
        out.print(f"loopback demo ({reason}; as root it runs on a virtual testbed)")
        return None
    out.print("building a two-node virtual testbed (network namespaces, emulated link)")
    with testbed(where) as bed:
        out.print(f"core at {bed.core_url}; nodes n1 and n2 online")
        scenario = demo_scenario("n1", target(bed), "op0", "demo-testbed", DESCRIPTION)
        return _study(bed.core_url, bed.admin_token, scenario, duration)


def _on_loopback(where: Path, duration: float) -> Execution:
    with local_stack(where, "127.0.0.1", free_port()) as stack:
        return _study(stack.url, stack.admin_token, demo_scenario(), duration, stack)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
