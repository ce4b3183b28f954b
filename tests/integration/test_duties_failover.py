"""Two core processes on one database: the duties run in one; the other takes over."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support import ADMIN_TOKEN, Core, start_core, wait_until
from vantagepoint.client import Client, Scenario

pytestmark = pytest.mark.integration
TAKEOVER_LINE = "takes the duties lease"
TAKEOVER_FROM_LINE = "takes over the duties lease from"


@pytest.fixture
def two_cores(database_url, tmp_path):
    cores = [start_core(database_url, tmp_path), start_core(database_url, tmp_path)]
    yield cores
    for core in cores:
        for agent in core.agents:
            agent.stop()
        core.proc.stop()


def health(core: Core) -> dict:
    return httpx.get(core.url + "/api/v1/health", timeout=5).json()


def holder_and_other(cores: list[Core]) -> tuple[Core, Core] | None:
    running = [c for c in cores if health(c)["runs_duties"]]
    if len(running) != 1:
        return None
    return running[0], next(c for c in cores if c is not running[0])


def book_ping(client: Client, node: str, start: datetime, duration: float = 1.5,
              interval: float = 0.2) -> int:
    """Book a short ping on ``node`` at ``start``; the schedule's id."""
    s = Scenario(f"ping-{start.timestamp():.0f}")
    s.task("t").action("ping", node=node, tool="ping",
                       config={"target": "127.0.0.1", "interval": interval}, results=["rtt_ms"])
    return client.schedule(s, duration, mode="at", start=start)["id"]


def execution_of(client: Client, schedule_id: int) -> int:
    """The id of the execution the schedule's one booking became."""
    def execution_id():
        return client.get_schedule(schedule_id)["occurrences"][0]["execution"]

    return wait_until(execution_id, timeout=60, what="the booking to become an execution")


def finished_once(client: Client, execution_id: int) -> None:
    def ended():
        ex = client.execution(execution_id)
        return ex if ex.state in ("finished", "failed", "canceled") else None

    ex = wait_until(ended, timeout=90, what=f"execution {execution_id} to end")
    assert ex.state == "finished", ex.reason
    core_lines = Counter(line["message"] for line in client.logs(execution_id)
                         if line["message"].startswith("execution "))
    assert core_lines["execution finished"] == 1, core_lines
    assert all(n == 1 for n in core_lines.values()), core_lines
    assert client.results(execution=execution_id, name="rtt_ms")


def test_duties_run_in_one_process_and_move_when_it_is_killed(two_cores):
    pair = wait_until(lambda: holder_and_other(two_cores), timeout=30,
                      what="exactly one core to run the duties")
    holder, other = pair
    assert health(other)["duties"]["holder"] == health(holder)["process"]
    other.start_agent("n1")
    client = Client(other.url, ADMIN_TOKEN)
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")

    first = execution_of(client, book_ping(client, "n1", datetime.now(UTC) + timedelta(seconds=2)))
    finished_once(client, first)
    assert health(other)["duty_ticks"] == 0
    assert health(holder)["duty_ticks"] > 0
    assert TAKEOVER_LINE in holder.proc.output()
    assert TAKEOVER_LINE not in other.proc.output()

    running = execution_of(client, book_ping(client, "n1", datetime.now(UTC)
                                             + timedelta(seconds=2), duration=6))
    wait_until(lambda: client.execution(running).state == "running", timeout=60,
               what="an execution running when the holder dies")
    holder.proc.kill(9)
    killed_at = time.monotonic()
    # Booked while nobody runs the duties: only the survivor can make it run.
    booked = book_ping(client, "n1", datetime.now(UTC) + timedelta(seconds=12))
    wait_until(lambda: health(other)["runs_duties"], timeout=30, what="the survivor to take over")
    assert time.monotonic() - killed_at < 30
    assert TAKEOVER_FROM_LINE in other.proc.output()
    finished_once(client, running)
    finished_once(client, execution_of(client, booked))
    assert health(other)["duty_ticks"] > 0
