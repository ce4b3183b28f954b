"""Conditions watched on a real agent: alarms go ahead of the results to a webhook, the
stream shows them live, the CLI lists and acknowledges them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.core.alarms.conftest import Hook
from tests.support import ADMIN_TOKEN, start_core, wait_until
from vantagepoint.client import Client, Scenario
from vantagepoint.testing import root_skip_reason

pytestmark = pytest.mark.integration

# Ten values 0.1 s apart (a 300 among them), 3.5 s of silence, one last value.
SCRIPT = ("for v in 10 10 10 10 300 10 10 10 10 10; do echo v=$v; sleep 0.1; done; "
          "sleep 3.5; echo v=10")
CONDITIONS = ["v > 200", "mean(v, 10s) > 30", "count(v, 2s) == 0", "p95(v, 10s) > 1000"]


@pytest.fixture
def hook():
    with Hook() as server:
        yield server


@pytest.fixture
def alarm_core(database_url, tmp_path, hook):
    notifiers = json.dumps({"hook": {"kind": "webhook", "url": hook.url}})
    core = start_core(database_url, tmp_path, notifiers=notifiers,
                      default_notifiers='["log", "hook"]')
    yield core
    for agent in core.agents:
        agent.stop()
    core.proc.stop()


def _scenario() -> Scenario:
    s = Scenario("watched")
    s.task("t").action("gen", node="n1", tool="command", results=["v"], conditions=CONDITIONS,
                       config={"argv": ["/bin/sh", "-c", SCRIPT],
                               "parse": [{"pattern": r"v=(?P<v>\d+)",
                                          "types": {"v": "number"}}]})
    return s


def test_conditions_fire_on_the_agent_across_upload_batches(alarm_core, hook, tmp_path):
    # Batches of two results, uploaded every 3 s: windows span many batches.
    alarm_core.start_agent("n1", upload_interval=3,
                           extra_env={"VANTAGE_AGENT_UPLOAD_BATCH": "2"})
    with Client(alarm_core.url, ADMIN_TOKEN) as client:
        wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1")
        client.submit(_scenario())
        with client.stream(kinds=["alarm"], timeout=60) as stream:
            ex = client.start("watched", duration=8)
            live = [next(stream) for _ in range(3)]
        ex.wait(timeout=90)
        assert ex.state == "finished", ex.reason
        values = [r["value"] for r in client.results(execution=ex.id, name="v")]
        alarms = sorted(client.alarms(execution=ex.id), key=lambda a: a["id"])
    assert values == [10] * 4 + [300] + [10] * 6
    assert [(a["condition"], a["value"]) for a in alarms] == [
        ("v > 200", 300.0), ("mean(v, 10s) > 30", 68.0), ("count(v, 2s) == 0", 0.0)]
    assert {a["origin"] for a in alarms} == {"node"}
    assert [e["data"]["id"] for e in live] == [a["id"] for a in alarms]
    assert sorted(hook.alarm_ids()) == [a["id"] for a in alarms]
    _cli_lists_and_acks(alarm_core.url, alarms[0]["id"], ex.id)


def _vantage(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", *args, "--url", url,
                           "--token", ADMIN_TOKEN], capture_output=True, text=True, timeout=60)


def _cli_lists_and_acks(url: str, alarm_id: int, execution_id: int) -> None:
    listed = _vantage(url, "alarms", "--execution", str(execution_id), "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 3
    table = _vantage(url, "alarms", "--unacked")
    assert "count(v, 2s) == 0" in table.stdout
    acked = _vantage(url, "alarm", "ack", str(alarm_id), "--note", "seen")
    assert acked.returncode == 0 and f"alarm {alarm_id} acknowledged by admin" in acked.stdout
    again = _vantage(url, "alarm", "ack", str(alarm_id))
    assert again.returncode == 1 and "was acknowledged by admin" in again.stderr
    left = json.loads(_vantage(url, "alarms", "--unacked", "--json").stdout)
    assert alarm_id not in [a["id"] for a in left] and len(left) == 2


FLAP = "for v in 300 10 300 10 300; do echo v=$v; sleep 0.2; done"


@pytest.mark.skipif(root_skip_reason() is not None, reason=root_skip_reason() or "")
def test_a_flapping_rtt_books_one_reactive_traceroute(alarm_core, hook):
    alarm_core.start_agent("n1")
    with Client(alarm_core.url, ADMIN_TOKEN) as client:
        wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1")
        trace = Scenario("trace")
        trace.task("t").action("tr", node="n1", tool="traceroute", results=["hops", "reached"],
                               config={"target": "127.0.0.1", "max_ttl": 3, "timeout": 0.5})
        client.submit(trace)
        s = Scenario("flap")
        s.task("t").action("gen", node="n1", tool="command", results=["v"],
                           conditions=["v > 200"],
                           reactions=[{"when": "v > 200", "scenario": "trace", "duration": 3,
                                       "min_interval": 3600}],
                           config={"argv": ["/bin/sh", "-c", FLAP],
                                   "parse": [{"pattern": r"v=(?P<v>\d+)",
                                              "types": {"v": "number"}}]})
        client.submit(s)
        ex = client.start("flap", duration=3).wait(timeout=90)
        assert ex.state == "finished", ex.reason
        alarms = wait_until(lambda: len(found := client.alarms(execution=ex.id)) == 3 and found,
                            what="three alarms")
        assert {a["condition"] for a in alarms} == {"v > 200"}
        booked = wait_until(lambda: [x for x in client.schedules() if x["scenario"] == "trace"],
                            what="the follow-up schedule")
        assert len(booked) == 1 and booked[0]["occurrences"][0]["nodes"] == ["n1"]
        follow_up = wait_until(lambda: booked[0]["id"] and client.executions(scenario="trace"),
                               timeout=60, what="the traceroute execution")
        done = follow_up[0].wait(timeout=90)
        assert done.state == "finished", done.reason
        assert [r["value"] for r in client.results(execution=done.id, name="reached")] == [True]
        assert len([x for x in client.schedules() if x["scenario"] == "trace"]) == 1
