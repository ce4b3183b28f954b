"""A core SIGKILLed while an agent uploads: after a restart nothing is lost or duplicated."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_duties_failover import book_ping, execution_of
from tests.support import ADMIN_TOKEN, start_core, wait_until
from vantagepoint.client import Client

pytestmark = pytest.mark.integration


def spooled(data_dir, execution_id: int) -> Counter:
    """(ts, value) of every result the agent spooled for the execution."""
    db = sqlite3.connect(data_dir / "spool.db")
    try:
        rows = db.execute("select ts, value from records where kind = 'result' and "
                          "execution_id = ? and name = 'rtt_ms'", (execution_id,)).fetchall()
    finally:
        db.close()
    return Counter((ts, json.loads(value)) for ts, value in rows)


def test_sigkill_during_ingest_loses_and_duplicates_nothing(database_url, tmp_path):
    core = start_core(database_url, tmp_path)
    port = int(core.url.rsplit(":", 1)[1])
    data_dir = tmp_path / "agent-n1"
    core.start_agent("n1", data_dir=data_dir, upload_interval=0.2)
    client = Client(core.url, ADMIN_TOKEN)
    try:
        wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
        start = datetime.now(UTC) + timedelta(seconds=2)
        ex_id = execution_of(client, book_ping(client, "n1", start, duration=8, interval=0.02))
        wait_until(lambda: len(client.results(execution=ex_id, name="rtt_ms")) > 20,
                   timeout=60, what="results arriving")
        core.proc.kill(9)
        time.sleep(2)  # the agent keeps measuring and spooling meanwhile
        core.proc = start_core(database_url, tmp_path, port=port).proc

        def ended():
            ex = client.execution(ex_id)
            return ex if ex.state in ("finished", "failed", "canceled") else None

        ex = wait_until(ended, timeout=120, what="the execution to end")
        assert ex.state == "finished", ex.reason
        stored = Counter((r["ts"], r["value"]) for r in
                         client.results(execution=ex_id, name="rtt_ms"))
    finally:
        for agent in core.agents:
            agent.stop()
        core.proc.stop()
    expected = spooled(data_dir, ex_id)
    assert len(expected) > 100
    assert stored == expected, (f"lost {sum((expected - stored).values())}, "
                                f"duplicated {sum((stored - expected).values())}")
