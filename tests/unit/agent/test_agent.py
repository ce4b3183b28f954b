"""The agent against a real core served in this process (uvicorn on loopback)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn

from tests.support import ADMIN_TOKEN, free_port, wait_until
from vantagepoint.agent import Agent
from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.spool import Spool
from vantagepoint.agent.uploader import Uploader
from vantagepoint.config import AgentSettings
from vantagepoint.core import create_app


@pytest.fixture
def core_url(core_settings):
    """A real core on a free loopback port, stopped after the test."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(core_settings), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: server.started, what="the core to start")
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def admin(core_url):
    with httpx.Client(base_url=core_url + "/api/v1", timeout=10,
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield client


@pytest.fixture
def start_agent(core_url, admin, probe_plugin, tmp_path):
    """Start an agent for a node in a thread; every one is stopped after the test."""
    running: list[tuple[Agent, threading.Thread]] = []

    def start(name: str = "n1", **settings) -> Agent:
        token = admin.post("/node-tokens", json={"node": name}).json()["token"]
        agent = Agent(AgentSettings(core_url=core_url, token=token, name=name,
                                    data_dir=tmp_path / name, poll_seconds=0.1,
                                    upload_seconds=0.2, heartbeat_seconds=1, **settings))
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        running.append((agent, thread))
        return agent

    yield start
    for agent, thread in running:
        agent.stop()
        thread.join(15)
        assert not thread.is_alive()


def _execute(admin, name: str, actions: list[dict], duration: float) -> int:
    doc = {"name": name, "tasks": [{"name": "t", "actions": actions}]}
    r = admin.put(f"/scenarios/{name}", json=doc)
    assert r.status_code == 200, r.text
    r = admin.post("/executions", json={"scenario": name, "duration": duration})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _final(admin, execution_id: int, timeout: float = 60) -> dict:
    def done():
        ex = admin.get(f"/executions/{execution_id}").json()
        return ex if ex["state"] in ("finished", "failed", "canceled") else None
    return wait_until(done, timeout=timeout, what="the execution to end")


def _log(admin, execution_id: int) -> list[tuple[str | None, str]]:
    lines = admin.get(f"/executions/{execution_id}/logs", params={"limit": 1000}).json()
    return [(line["action"], line["message"]) for line in lines]


def test_a_run_ends_done_with_every_result_uploaded(admin, start_agent):
    start_agent("n1")
    wait_until(lambda: admin.get("/nodes/n1").status_code == 200, what="registration")
    assert "probe@0.1" in admin.get("/nodes/n1").json()["tools"]
    ex_id = _execute(admin, "count", [{"name": "c", "node": "n1", "tool": "probe",
                                       "config": {"every": 0.05}, "results": ["count"]}], 1.0)
    ex = _final(admin, ex_id)
    assert ex["state"] == "finished", ex["reason"]
    values = [r["value"] for r in admin.get("/results", params={"execution": ex_id}).json()
              ["items"]]
    assert values == list(range(1, len(values) + 1)) and len(values) >= 10
    log = _log(admin, ex_id)
    for step in ("init probe@0.1: ok", "run: started", f"run: ended, {len(values)} results",
                 "finish: done"):
        assert ("c", step) in log, log
    assert (None, "deploying 1 actions") in log and (None, "ready") in log


def test_init_failure_fails_the_execution_with_its_reason(admin, start_agent):
    start_agent("n1")
    wait_until(lambda: admin.get("/nodes/n1").status_code == 200, what="registration")
    ex_id = _execute(admin, "doomed", [
        {"name": "ok", "node": "n1", "tool": "probe"},
        {"name": "bad", "node": "n1", "tool": "probe", "config": {"refuse": "no route"}}], 5)
    ex = _final(admin, ex_id)
    assert ex["state"] == "failed"
    assert "init of action 'bad' (probe) failed: no route" in ex["reason"]
    wait_until(lambda: ("ok", "finish: done") in _log(admin, ex_id), what="the other's finish")


def test_a_canceled_execution_stops_on_the_node(admin, start_agent):
    start_agent("n1")
    wait_until(lambda: admin.get("/nodes/n1").status_code == 200, what="registration")
    ex_id = _execute(admin, "long", [{"name": "c", "node": "n1", "tool": "probe",
                                      "results": ["count"]}], 600)
    wait_until(lambda: admin.get(f"/executions/{ex_id}").json()["state"] == "running",
               what="the run")
    time.sleep(0.5)
    assert admin.post(f"/executions/{ex_id}/cancel").status_code == 200
    wait_until(lambda: ("c", "finish: done") in _log(admin, ex_id), timeout=30,
               what="the action to finish")
    log = _log(admin, ex_id)
    assert (None, "canceled on this node: the execution is no longer assigned") in log
    assert any(m.startswith("run: ended") and m.endswith("(canceled)") for _, m in log)


AGENT = """
import sys
from vantagepoint.agent import run_agent
from vantagepoint.config import AgentSettings
url, token, data, upload = sys.argv[1:]
run_agent(AgentSettings(core_url=url, token=token, name="n1", data_dir=data,
                        poll_seconds=0.1, upload_seconds=float(upload), heartbeat_seconds=1))
"""


def _agent_process(core_url, admin, probe_plugin, data, upload: float) -> subprocess.Popen:
    token = admin.post("/node-tokens", json={"node": "n1"}).json()["token"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(probe_plugin), *sys.path])}
    return subprocess.Popen([sys.executable, "-c", AGENT, core_url, token, str(data),
                             str(upload)], env=env)


def _spooled(data) -> int:
    with sqlite3.connect(data / "spool.db") as db:
        return db.execute("select count(*) from records where kind = 'result'").fetchone()[0]


def test_an_agent_killed_mid_run_reports_the_loss_after_uploading_everything(
        core_url, admin, probe_plugin, start_agent, tmp_path):
    data = tmp_path / "n1"
    killed = _agent_process(core_url, admin, probe_plugin, data, upload=3600)
    try:
        wait_until(lambda: admin.get("/nodes/n1").status_code == 200, what="registration")
        ex_id = _execute(admin, "long", [{"name": "c", "node": "n1", "tool": "probe",
                                          "results": ["count"]}], 600)
        wait_until(lambda: (data / "spool.db").exists() and _spooled(data) >= 20,
                   what="20 spooled results")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
    start_agent("n1")  # the same data directory
    ex = _final(admin, ex_id)
    assert ex["state"] == "failed" and "restarted" in ex["reason"]
    items = admin.get("/results", params={"execution": ex_id, "limit": 10000}).json()["items"]
    values = [r["value"] for r in items]
    assert values == list(range(1, _spooled(data) + 1))


def test_sigterm_stops_the_agent_and_its_workers_cleanly(core_url, admin, probe_plugin,
                                                         tmp_path):
    agent = _agent_process(core_url, admin, probe_plugin, tmp_path / "n1", upload=0.2)
    try:
        wait_until(lambda: admin.get("/nodes/n1").status_code == 200, what="registration")
        ex_id = _execute(admin, "long", [{"name": "c", "node": "n1", "tool": "probe",
                                          "results": ["count"]}], 600)
        wait_until(lambda: admin.get(f"/executions/{ex_id}").json()["state"] == "running",
                   what="the run")
        time.sleep(0.5)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(10) == 0
    finally:
        agent.kill()
        agent.wait()
    ex = _final(admin, ex_id, timeout=10)
    assert ex["state"] == "failed" and "was stopped" in ex["reason"]
    log = _log(admin, ex_id)
    assert ("c", "finish: done") in log
    assert any(m.startswith("run: ended") and m.endswith("(canceled)") for _, m in log)


def test_uploads_wait_out_a_dead_core_and_set_aside_only_refused_records(
        core_url, admin, probe_plugin, tmp_path):
    token = admin.post("/node-tokens", json={"node": "n1"}).json()["token"]
    spool = Spool(tmp_path / "spool.db")
    dead = CoreClient(AgentSettings(core_url=f"http://127.0.0.1:{free_port()}", token=token))
    ex_id = _execute_for_n1(core_url, admin, token, tmp_path / "agent")
    for i in range(5):
        spool.add_result(ex_id, "c", "count", i)
    spool.add_result(ex_id + 1000, "c", "count", 99)  # an execution n1 takes no part in
    assert not Uploader(spool, dead).upload_pending()
    assert spool.pending_count() == 6  # nothing lost while the core is unreachable

    live = CoreClient(AgentSettings(core_url=core_url, token=token))
    assert Uploader(spool, live, batch=4).upload_pending()
    assert spool.pending_count() == 0
    items = admin.get("/results", params={"execution": ex_id}).json()["items"]
    assert [r["value"] for r in items] == [0, 1, 2, 3, 4]
    assert len(spool.records()) == 6  # the refused one is kept in the file
    live.close()
    dead.close()
    spool.close()


def _execute_for_n1(core_url, admin, token, data) -> int:
    """Register n1 (with the probe tool) and start an execution it takes part in."""
    agent = Agent(AgentSettings(core_url=core_url, token=token, name="n1", data_dir=data))
    agent.client.register(agent.registration())
    agent.client.close()
    agent.spool.close()
    return _execute(admin, "one", [{"name": "c", "node": "n1", "tool": "probe"}], 600)
