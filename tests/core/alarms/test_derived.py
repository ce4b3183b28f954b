"""Conditions on results the core derives are watched at the core, across batches."""

from __future__ import annotations

import time

from tests.core.alarms.conftest import delivered, start_watched
from tests.support import wait_until
from vantagepoint.core.alarms.derived import CURSOR
from vantagepoint.core.ingest import insert_results
from vantagepoint.core.processors import Derived
from vantagepoint.core.store.models import WatchCursor
from vantagepoint.spec.tools import ResultSpec, ToolInfo

JOINED = ToolInfo(name="probe", version="1.0", results=[
    ResultSpec(name="rtt_ms", unit="ms"),
    ResultSpec(name="owd_ms", unit="ms", derived=True)])


def store(client, execution_id: int, origin: str, series) -> None:
    rows = [Derived("n1", "a", "owd_ms", ts, value) for ts, value in series]
    with client.app.state.sessions.begin() as db:
        insert_results(db, execution_id, origin, rows)


def watching(client) -> bool:
    """The core's watch has started: it watches results stored from then on."""
    with client.app.state.sessions() as db:
        return db.get(WatchCursor, CURSOR) is not None


def core_alarms(client, execution_id):
    found = client.get("/api/v1/alarms", params={"execution": execution_id}).json()
    return sorted(((a["condition"], a["value"], a["ts"]) for a in found),
                  key=lambda a: (a[2], a[0]))


def test_windows_on_derived_results_straddle_batches(alarm_client, hook):
    _, ex = start_watched(alarm_client, ["max(owd_ms, 10s) > 50", "owd_ms < 0", "owd_ms > 65"],
                          tools=[JOINED], results=["owd_ms"])
    wait_until(lambda: watching(alarm_client), what="the core's derived-result watch")
    t0 = time.time() - 100
    # First batch ends with a high value; the next batch's values fall in its window.
    store(alarm_client, ex["id"], "proc-test-1", [(t0 + i, 10.0) for i in range(5)]
          + [(t0 + 5, 60.0)])
    wait_until(lambda: core_alarms(alarm_client, ex["id"]), what="the first core alarm")
    store(alarm_client, ex["id"], "proc-test-2", [(t0 + 6 + i, 10.0) for i in range(20)]
          + [(t0 + 30, 70.0), (t0 + 31, -1.0)])
    wait_until(lambda: len(core_alarms(alarm_client, ex["id"])) == 4, what="four core alarms")
    time.sleep(0.5)  # nothing further arrives
    assert core_alarms(alarm_client, ex["id"]) == [
        ("max(owd_ms, 10s) > 50", 60.0, t0 + 5),
        # Two conditions fire on the same result: two alarms.
        ("max(owd_ms, 10s) > 50", 70.0, t0 + 30),  # re-armed once 60 aged out (t0 + 16)
        ("owd_ms > 65", 70.0, t0 + 30),
        ("owd_ms < 0", -1.0, t0 + 31),
    ]
    bodies = delivered(hook, 4)
    assert {b["alarm"]["origin"] for b in bodies} == {"core"}


def test_results_from_nodes_are_left_to_the_agents(alarm_client, hook):
    token, ex = start_watched(alarm_client, ["rtt_ms > 5"], tools=[JOINED])
    from tests.core.alarms.conftest import as_node

    records = [{"kind": "result", "seq": 1, "execution_id": ex["id"], "action": "a",
                "name": "rtt_ms", "ts": time.time(), "value": 99.0}]
    r = alarm_client.post("/api/v1/agent/records", headers=as_node(token),
                          json={"spool_id": "spool-0001", "records": records})
    assert r.status_code == 200, r.text
    time.sleep(1.0)
    assert core_alarms(alarm_client, ex["id"]) == []
