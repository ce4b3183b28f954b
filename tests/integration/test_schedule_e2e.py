"""A periodic schedule on filtered nodes, carried out by real agents."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import ADMIN_TOKEN, start_core, wait_until
from vantagepoint.client import Client, Scenario

pytestmark = pytest.mark.integration


@pytest.fixture
def quick_core(database_url, tmp_path):
    core = start_core(database_url, tmp_path, min_period_seconds=2)
    yield core
    for agent in core.agents:
        agent.stop()
    core.proc.stop()


def test_periodic_schedule_runs_every_occurrence_on_chosen_nodes(quick_core):
    for name, country in (("se1", "se"), ("se2", "se"), ("no1", "no")):
        quick_core.start_agent(name, attr=f"country={country}")
    client = Client(quick_core.url, ADMIN_TOKEN)
    wait_until(lambda: len([n for n in client.nodes() if n.online]) == 3, timeout=60,
               what="three nodes online")
    s = Scenario("probe-se")
    s.task("t").action("ping", node="probe", tool="ping",
                       config={"target": "127.0.0.1", "interval": 0.2}, results=["rtt_ms"])
    doc = s.to_dict()
    doc["roles"] = ["probe"]
    client.submit(doc)
    start = datetime.now(UTC) + timedelta(seconds=3)
    out = client.schedule("probe-se", 1.5, mode="at", start=start, every=3,
                          until=start + timedelta(seconds=7), filter="country=se", count=2)
    assert [o["nodes"] for o in out["occurrences"]] == [["se1", "se2"]] * 3

    def executions():
        got = client.get_schedule(out["id"])["occurrences"]
        ids = [o["execution"] for o in got]
        if None in ids:
            return None
        states = [client.execution(i).state for i in ids]
        return ids if all(st in ("finished", "failed", "canceled") for st in states) else None

    ids = wait_until(executions, timeout=90, what="every occurrence to end")
    for execution_id in ids:
        ex = client.execution(execution_id)
        assert ex.state == "finished", ex.reason
        nodes = {r["node"] for r in client.results(execution=execution_id, name="rtt_ms")}
        assert nodes == {"se1", "se2"}

    calendar = subprocess.run(
        [sys.executable, "-m", "vantagepoint.cli.main", "calendar", "--url", quick_core.url,
         "--token", ADMIN_TOKEN, "--json"], capture_output=True, text=True, timeout=60)
    assert calendar.returncode == 0, calendar.stderr
