"""Alarms raised in worker processes land in the spool, then reach the core even after it
was unreachable for a while."""

from __future__ import annotations

import threading
import time

import uvicorn

from tests.core.conftest import enrol, scenario
from tests.support import ADMIN_TOKEN, free_port, wait_until
from tests.unit.agent.test_worker import logs, ready, until
from vantagepoint.agent.alarms import AlarmSender, AlarmSpool
from vantagepoint.agent.client import CoreClient
from vantagepoint.config import AgentSettings
from vantagepoint.core import create_app
from vantagepoint.spec.watch import Firing


def test_worker_raises_each_condition_once_and_silence_while_nothing_comes(make_runner,
                                                                           spool):
    # "a" emits 1, 2, 3 ... every 0.05 s; "quiet" runs but never emits anything.
    runner = make_runner({"name": "a", "config": {"every": 0.05}, "duration": 1.0,
                          "conditions": ["count == 5", "max(count, 10s) > 100",
                                         "mean(count, 10s) >= 3"]},
                         {"name": "quiet", "config": {"hang": True}, "duration": 1.8,
                          "conditions": ["count(count, 1s) == 0"]},
                         duration=1.8, kill_grace=0.5)
    ready(runner)
    runner.run(time.time())
    until(lambda: runner.finished, poll=runner.poll, what="the run to end")
    alarms = [(a.action, a.condition, a.value) for a in
              AlarmSpool(spool.path, spool.spool_id).pending()]
    assert sorted(alarms) == [("a", "count == 5", 5.0), ("a", "mean(count, 10s) >= 3", 3.0),
                              ("quiet", "count(count, 1s) == 0", 0.0)]
    assert any("alarm: count == 5 (value 5" in line for line in logs(spool, "a"))


def test_alarms_wait_in_the_spool_while_the_core_is_unreachable(core_settings, tmp_path):
    port = free_port()
    settings = AgentSettings(core_url=f"http://127.0.0.1:{port}", name="n1",
                             data_dir=tmp_path / "agent")
    spool = AlarmSpool(tmp_path / "spool.db", "spool-0001")
    app = create_app(core_settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    sender = None
    try:
        thread = threading.Thread(target=server.run, daemon=True)
        execution = _prepare(app, server, thread, settings)
        seq = spool.add(execution, "a", Firing("rtt_ms > 200", "rtt_ms", 250.0, time.time()))
        sender = AlarmSender(spool, CoreClient(settings), 0.05)
        server.should_exit = True  # the core goes away before the alarm is sent
        thread.join(10)
        assert sender.send_pending(timeout=1) is False
        assert [a.seq for a in spool.pending()] == [seq]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_until(lambda: server.started, what="the core to start again")
        wait_until(lambda: sender.send_pending(timeout=2), what="the alarm to be sent")
        assert spool.pending() == []
    finally:
        server.should_exit = True
        spool.close()


def _prepare(app, server, thread, settings) -> int:
    """Start the core, enrol n1 and start an execution; the node token goes into settings."""
    from fastapi.testclient import TestClient

    thread.start()
    wait_until(lambda: server.started, what="the core to start")
    client = TestClient(app, base_url=settings.core_url)
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    settings.token = enrol(client, "n1")
    client.put("/api/v1/scenarios/rtt", json=scenario()).raise_for_status()
    r = client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 30})
    r.raise_for_status()
    return r.json()["id"]
