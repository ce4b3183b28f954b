"""A node's link to the core cut for 10 minutes mid-execution: everything arrives once after.

The core runs on the host (PostgreSQL); the agent of n1 in its namespace runs a
ping longer than the cut, with the metadata bus and the background ping going.
The cut black-holes n1's management link (nftables in its namespace), so the
agent's requests hang and time out as on a dead uplink. CI uses the full 600 s;
``VANTAGE_TEST_LINK_CUT_SECONDS`` shortens it outside CI.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import ADMIN_TOKEN, start_core, wait_until
from tests.testbed.conftest import IN_CI, PREFIX
from vantagepoint.client import Client, Scenario
from vantagepoint.testbed import Testbed

pytestmark = pytest.mark.integration
FULL_CUT = 600.0
CUT = FULL_CUT if IN_CI else float(os.environ.get("VANTAGE_TEST_LINK_CUT_SECONDS", FULL_CUT))
RUN_AFTER_CUT = 45.0  # the run goes on this long after the link is back
AGENT_ENV = {"VANTAGE_AGENT_SENSOR_SECONDS": "5", "VANTAGE_AGENT_BACKGROUND_SECONDS": "2"}


@pytest.fixture
def host_core(database_url, tmp_path):
    core = start_core(database_url, tmp_path, host="0.0.0.0", end_grace_seconds=120)
    yield core
    core.proc.stop()


@pytest.fixture
def bed(needs_root, host_core, tmp_path, monkeypatch):
    for key, value in AGENT_ENV.items():
        monkeypatch.setenv(key, value)  # the agents inherit the environment
    monkeypatch.setenv("VANTAGE_AGENT_BACKGROUND_TARGET", "198.18.0.1")  # op0's gateway
    started = Testbed.up(nodes=1, prefix=PREFIX, run_dir=tmp_path / "bed",
                         core_url=host_core.url, admin_token=ADMIN_TOKEN,
                         agent_options={"heartbeat": "2", "upload-interval": "1"})
    yield started
    started.down()


def stream_rows(spool, kind: str) -> Counter:
    """(topic or action, ts) of every stream row of ``kind`` the agent spooled."""
    db = sqlite3.connect(spool)
    try:
        rows = db.execute("select topic, ts from stream where kind = ?", (kind,)).fetchall()
    finally:
        db.close()
    return Counter(rows)


def spooled_results(spool, execution_id: int) -> Counter:
    db = sqlite3.connect(spool)
    try:
        rows = db.execute("select ts, value from records where kind = 'result' and "
                          "execution_id = ? and name = 'rtt_ms'", (execution_id,)).fetchall()
    finally:
        db.close()
    return Counter((ts, json.loads(value)) for ts, value in rows)


def book(client: Client, duration: float) -> int:
    s = Scenario(f"cut-{time.time():.0f}")
    s.task("t").action("ping", node="n1", tool="ping", interface="op0",
                       config={"target": "198.18.0.1", "interval": 1.0}, results=["rtt_ms"])
    start = datetime.now(UTC) + timedelta(seconds=3)
    schedule = client.schedule(s, duration, mode="at", start=start)["id"]
    return wait_until(lambda: client.get_schedule(schedule)["occurrences"][0]["execution"],
                      timeout=60, what="the booking to become an execution")


def count(client: Client, ex_id: int) -> int:
    return len(client.results(execution=ex_id, name="rtt_ms"))


def hold_cut(bed: Testbed, client: Client, ex_id: int) -> tuple[float, float]:
    """Cut n1 for CUT seconds; meanwhile nothing arrives and the execution stays running."""
    bed.cut("n1")
    cut_at = time.time()
    try:
        time.sleep(5)  # a batch in flight when the cut came may still land
        at_cut = count(client, ex_id)
        while time.time() < cut_at + CUT:
            time.sleep(max(0.0, min(20.0, cut_at + CUT - time.time())))
            bed.check()
            assert client.execution(ex_id).state == "running", client.logs(ex_id)
        assert count(client, ex_id) == at_cut, "results reached the core through the cut"
    finally:
        bed.restore("n1")
    return cut_at, time.time()


@pytest.mark.timeout(CUT + 600)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_ten_minute_cut_loses_and_duplicates_nothing(bed, host_core):
    client = Client(host_core.url, ADMIN_TOKEN)
    spool = bed.run_dir / "agents" / "n1" / "spool.db"
    ex_id = book(client, CUT + RUN_AFTER_CUT + 15)
    wait_until(lambda: len(client.results(execution=ex_id, name="rtt_ms")) >= 5, timeout=60,
               what="results arriving before the cut")
    cut_at, restored_at = hold_cut(bed, client, ex_id)

    def ended():
        ex = client.execution(ex_id)
        return ex if ex.state in ("finished", "failed", "canceled") else None

    ex = wait_until(ended, timeout=RUN_AFTER_CUT + 240, interval=1, what="the execution to end")
    assert ex.state == "finished", (ex.reason, client.logs(ex_id))
    assert [p["state"] for p in ex.data["nodes"]] == ["done"], ex.data["nodes"]
    stored = Counter((r["ts"], r["value"]) for r in client.results(execution=ex_id, name="rtt_ms"))
    expected = spooled_results(spool, ex_id)
    assert sum(1 for ts, _ in expected.elements() if cut_at + 2 < ts < restored_at) >= CUT / 2
    assert stored == expected, (f"lost {sum((expected - stored).values())}, "
                                f"duplicated {sum((stored - expected).values())}")
    check_stream(client, spool, cut_at, restored_at)


def check_stream(client: Client, spool, cut_at: float, restored_at: float) -> None:
    """Every metadata message and background result spooled in the cut is at the core once."""
    def arrived():
        meta = Counter((m["topic"], m["ts"]) for m in client.metadata(node="n1"))
        background = Counter((r["action"], r["ts"]) for r in client.background_results(node="n1"))
        return meta, background

    meta_spooled = stream_rows(spool, "metadata")
    background_spooled = stream_rows(spool, "background")
    # The stream keeps flowing after the run: compare what was spooled up to now.
    wait_until(lambda: all(+(s - a) == Counter() for s, a in
                           zip((meta_spooled, background_spooled), arrived(), strict=True)),
               timeout=120, interval=1, what="the node's streams to catch up")
    meta, background = arrived()
    assert meta & meta_spooled == meta_spooled and max(meta.values()) == 1, "metadata duplicated"
    assert background & background_spooled == background_spooled
    assert max(background.values()) == 1, "background results duplicated"
    in_cut = [ts for _, ts in meta_spooled if cut_at + 2 < ts < restored_at]
    assert len(in_cut) >= CUT / 10, f"only {len(in_cut)} metadata messages spooled in the cut"
    assert sum(1 for _, ts in background_spooled if cut_at + 2 < ts < restored_at) >= CUT / 4
