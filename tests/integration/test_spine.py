"""The spine end to end: a core and agents as separate processes on loopback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.client import Scenario
from vantagepoint.errors import Invalid, NotFound, Unauthorized

pytestmark = pytest.mark.integration


def _online(client, *names):
    wait_until(lambda: {n.name for n in client.nodes() if n.online} >= set(names),
               timeout=60, what=f"nodes {names} to register")


def _ping_scenario(name="rtt", nodes=("n1", "n2"), target="127.0.0.1", interval=0.2):
    s = Scenario(name)
    task = s.task("probe")
    for node in nodes:
        task.action(f"ping_{node}", node=node, tool="ping",
                    config={"target": target, "interval": interval, "timeout": 1},
                    results=["rtt_ms", "sent", "received", "loss_pct"],
                    conditions=["rtt_ms > 200"])
    return s


def test_two_agents_run_ping_and_results_come_back(core, client, tmp_path):
    for node in ("n1", "n2"):
        core.start_agent(node)
    _online(client, "n1", "n2")
    s = _ping_scenario()
    client.submit(s)
    ex = client.start(s, duration=5).wait(timeout=90)
    assert ex.state == "finished", ex.reason

    results = client.results(execution=ex.id)
    for node in ("n1", "n2"):
        rtts = [r["value"] for r in results if r["node"] == node and r["name"] == "rtt_ms"]
        assert len(rtts) >= 10, f"{node} sent too few replies: {rtts}"
        assert all(0 < v < 200 for v in rtts)
        loss = [r["value"] for r in results if r["node"] == node and r["name"] == "loss_pct"]
        assert loss == [0.0]

    log = [(line["node"], line["message"]) for line in client.logs(ex.id)]
    for node in ("n1", "n2"):
        mine = [m for n, m in log if n == node]
        for step in ("init ping@", "run: started", "run: ended", "finish: done"):
            assert sum(step in m for m in mine) == 1, (node, step, mine)

    cli = subprocess.run(
        [sys.executable, "-m", "vantagepoint.cli.main", "results", "--url", core.url,
         "--token", ADMIN_TOKEN, "--execution", str(ex.id), "--json"],
        capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert len(json.loads(cli.stdout)) == len(results)


def test_six_faults_refused_at_once_and_nothing_stored(core, client):
    core.start_agent("n1")
    _online(client, "n1")
    doc = {"name": "faulty", "tasks": [{"name": "t", "actions": [
        {"name": "a", "node": "n1", "tool": "ping",
         "config": {"target": "127.0.0.1", "count": "five", "colour": "blue"},
         "results": ["rtt_ms", "bandwidth_mbps"], "conditions": ["sent > 3"]},
        {"name": "b", "node": "ghost", "tool": "ping", "config": {"target": "127.0.0.1"}},
        {"name": "c", "node": "n1", "tool": "warp-drive"},
    ]}]}
    with pytest.raises(Invalid) as err:
        client.submit(doc)
    pointers = {p.pointer for p in err.value.problems}
    assert pointers == {
        "/tasks/0/actions/0/config/count", "/tasks/0/actions/0/config",
        "/tasks/0/actions/0/results/1", "/tasks/0/actions/0/conditions/0",
        "/tasks/0/actions/1/node", "/tasks/0/actions/2/tool",
    }
    assert client.scenarios() == []


def test_agent_killed_then_restarted_uploads_everything_exactly_once(core, client, tmp_path):
    data = tmp_path / "agent-n1"
    agent = core.start_agent("n1", data_dir=data, upload_interval=3600)
    _online(client, "n1")
    s = _ping_scenario(nodes=("n1",), interval=0.05)
    client.submit(s)
    ex = client.start(s, duration=30)
    spool = data / "spool.db"
    wait_until(lambda: _spooled(spool, ex.id) >= 20, timeout=60, what="20 spooled results")
    assert client.results(execution=ex.id) == []  # nothing uploaded yet
    agent.kill()

    core.start_agent("n1", data_dir=data)
    wait_until(lambda: ex.refresh().done, timeout=90, what="the execution to end")
    spooled = _spooled_rows(spool, ex.id)
    wait_until(lambda: len(client.results(execution=ex.id)) >= len(spooled), timeout=30,
               what="every spooled result to arrive")
    arrived = sorted((r["action"], r["name"], r["ts"], r["value"])
                     for r in client.results(execution=ex.id))
    assert arrived == sorted(spooled)
    assert len(set(arrived)) == len(arrived)
    assert ex.state == "failed" and "restarted" in ex.reason


def _spooled(path, execution_id) -> int:
    return len(_spooled_rows(path, execution_id)) if path.exists() else 0


def _spooled_rows(path, execution_id):
    with sqlite3.connect(path, timeout=10) as db:
        rows = db.execute("select action, name, ts, value from records "
                          "where kind = 'result' and execution_id = ?", (execution_id,))
        return [(a, n, ts, json.loads(v)) for a, n, ts, v in rows]


def test_failing_init_on_one_node_cancels_both(core, client, plugin_env):
    core.start_agent("n1", extra_env=plugin_env)
    core.start_agent("n2", extra_env=plugin_env)
    _online(client, "n1", "n2")
    s = Scenario("doomed")
    s.task("t").action("ok", node="n1", tool="counter", config={"every": 0.1},
                       results=["count"]).action(
        "bad", node="n2", tool="counter", config={"fail": True}, results=["count"])
    client.submit(s)
    ex = client.start(s, duration=10).wait(timeout=60)
    assert ex.state == "failed"
    assert "n2" in ex.reason and "told to fail at init" in ex.reason
    parts = {p["node"]: p["state"] for p in ex.data["nodes"]}
    assert parts == {"n1": "canceled", "n2": "failed"}
    log = [(line["node"], line["message"]) for line in client.logs(ex.id)]
    assert any("told to fail at init" in m for _, m in log), log
    assert any("canceled on node n1" in m for _, m in log), log
    wait_until(lambda: any(n == "n1" and "canceled on this node" in m
                           for n, m in ((x["node"], x["message"]) for x in client.logs(ex.id))),
               timeout=30, what="n1's agent to log its cancel")
    assert client.results(execution=ex.id, name="count") == []


def test_third_party_tool_is_found_by_entry_point(core, client, plugin_env):
    core.start_agent("n1", extra_env=plugin_env)
    _online(client, "n1")
    assert "counter@0.1" in client.nodes()[0].tools
    s = Scenario("count")
    s.task("t").action("c", node="n1", tool="counter", config={"every": 0.1},
                       results=["count"])
    client.submit(s)
    ex = client.start(s, duration=2).wait(timeout=60)
    assert ex.state == "finished", ex.reason
    counts = [r["value"] for r in client.results(execution=ex.id, name="count")]
    assert counts == list(range(1, len(counts) + 1)) and len(counts) >= 5


def test_users_are_isolated_and_tokens_required(core, client):
    core.start_agent("n1")
    _online(client, "n1")
    from vantagepoint.client import Client

    client.create_user("alice")
    client.create_user("bob")
    alice = Client(core.url, client.create_token(user="alice"))
    bob = Client(core.url, client.create_token(user="bob"))
    s = _ping_scenario("mine", nodes=("n1",))
    alice.submit(s)
    ex = alice.start(s, duration=2).wait(timeout=60)
    assert ex.state == "finished"
    assert alice.results(execution=ex.id)
    with pytest.raises(NotFound):
        bob.scenario("mine")
    assert bob.results(execution=ex.id) == []
    with pytest.raises(NotFound):
        bob.execution(ex.id)
    import httpx

    assert httpx.get(core.url + "/api/v1/scenarios").status_code == 401
    with pytest.raises(Unauthorized):
        Client(core.url, "vpu_wrong").scenarios()
