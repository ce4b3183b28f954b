"""The uploader waits out a 429 as long as Retry-After says, and drops nothing."""

from __future__ import annotations

import time

import pytest

from tests.unit.agent.test_agent import _execute_for_n1, admin, core_url  # noqa: F401
from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.spool import Spool
from vantagepoint.agent.uploader import Uploader
from vantagepoint.config import AgentSettings


@pytest.fixture
def core_settings(core_settings):
    return core_settings.model_copy(update={"rate_limit_node_per_s": 0.25,
                                            "rate_limit_node_burst": 3})


def test_uploads_back_off_on_429_and_every_record_arrives(core_url, admin, probe_plugin,  # noqa: F811
                                                          tmp_path):
    token = admin.post("/node-tokens", json={"node": "n1"}).json()["token"]
    ex_id = _execute_for_n1(core_url, admin, token, tmp_path / "agent")  # 1 request
    spool = Spool(tmp_path / "spool.db")
    for i in range(4):
        spool.add_result(ex_id, "c", "count", i)
    client = CoreClient(AgentSettings(core_url=core_url, token=token))
    uploader = Uploader(spool, client, batch=1, period=0.05)
    delays = []
    deadline = time.monotonic() + 60
    while spool.pending_count() and time.monotonic() < deadline:
        delays.append(uploader.tick())
        time.sleep(delays[-1])
    assert spool.pending_count() == 0
    assert uploader.stats.failures >= 1  # it was throttled ...
    # ... and waited as long as the core asked (Retry-After: up to 4 s), not its own
    # first backoff step (1 s).
    assert max(delays) >= 2.0
    items = admin.get("/results", params={"execution": ex_id}).json()["items"]
    assert sorted(r["value"] for r in items) == list(range(4))  # nothing lost or doubled
    client.close()
    spool.close()
