"""A core SIGKILLed with an archiver backlog delivers all of it after a restart."""

from __future__ import annotations

import json

import pytest

from tests.core.archive.support import Receiver
from tests.core.conftest import PROBE, scenario
from tests.support import Core, free_port, start_core, wait_until

pytestmark = pytest.mark.integration
BATCHES, PER_BATCH = 3, 50


def _as(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def upload_results(core: Core) -> set[str]:
    """Register n1, give it an execution and upload its results; their idempotency keys."""
    with core.client() as c:
        token = c.post("/api/v1/node-tokens", json={"node": "n1"}).json()["token"]
        body = {"name": "n1", "interfaces": [{"name": "op0"}],
                "tools": [PROBE.model_dump(mode="json")]}
        assert c.post("/api/v1/agent/register", json=body, headers=_as(token)).is_success
        assert c.put("/api/v1/scenarios/rtt", json=scenario()).is_success
        ex_id = c.post("/api/v1/executions", json={"scenario": "rtt", "duration": 600}).json()["id"]
        for b in range(BATCHES):
            records = [{"kind": "result", "seq": b * PER_BATCH + i, "execution_id": ex_id,
                        "action": "a", "name": "rtt_ms", "ts": 1000.0 + i, "value": float(i)}
                       for i in range(1, PER_BATCH + 1)]
            r = c.post("/api/v1/agent/records", headers=_as(token),
                       json={"spool_id": f"spool-{b:06d}", "records": records})
            assert r.status_code == 200, r.text
    return {f"n1/spool-{b:06d}/{b * PER_BATCH + i}" for b in range(BATCHES)
            for i in range(1, PER_BATCH + 1)}


def archiver_status(core: Core) -> dict:
    with core.client() as c:
        return c.get("/api/v1/admin/archivers").json()[0]


def test_backlog_survives_sigkill_and_is_delivered_once(database_url, tmp_path):
    port = free_port()
    archivers = json.dumps([{"name": "sink", "kind": "http",
                             "options": {"url": f"http://127.0.0.1:{port}/in"},
                             "retry": {"backoff_seconds": 0.2, "backoff_max_seconds": 1}}])
    settings = {"archivers": archivers, "archive_poll_seconds": 0.1}
    core = start_core(database_url, tmp_path, **settings)
    receiver = None
    try:
        keys = upload_results(core)
        stuck = wait_until(lambda: (s := archiver_status(core))["failures"] >= 1 and s,
                           what="a failed delivery")
        assert stuck["backlog"] == len(keys) and stuck["delivered"] == 0
        core.proc.kill(9)
        receiver = Receiver(port)
        core = start_core(database_url, tmp_path, **settings)
        done = wait_until(lambda: (s := archiver_status(core))["backlog"] == 0 and s,
                          timeout=90, what="the backlog delivered after the restart")
    finally:
        core.proc.stop()
        if receiver is not None:
            receiver.close()
    assert done["delivered"] == len(keys)
    assert set(receiver.keys()) == keys
    assert len(receiver.keys()) == len(keys), "a result was delivered twice"
