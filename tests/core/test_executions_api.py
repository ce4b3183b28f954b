"""The execution protocol over HTTP: barrier, start, reports, idempotent ingest, cancel."""

from __future__ import annotations

import time

from tests.core.conftest import enrol, scenario, user_token
from tests.support import wait_until


def _as(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _assignments(client, token):
    r = client.get("/api/v1/agent/assignments", headers=_as(token))
    assert r.status_code == 200, r.text
    return r.json()


def _report(client, token, ex_id, state, reason=None):
    r = client.post(f"/api/v1/agent/executions/{ex_id}/report", headers=_as(token),
                    json={"state": state, "reason": reason})
    assert r.status_code == 200, r.text
    return r.json()


def _two_node_execution(client, duration=1.0):
    tokens = {n: enrol(client, n) for n in ("n1", "n2")}
    doc = scenario()
    doc["tasks"][0]["actions"].append({**doc["tasks"][0]["actions"][0], "name": "b",
                                       "node": "n2"})
    assert client.put("/api/v1/scenarios/rtt", json=doc).status_code == 200
    r = client.post("/api/v1/executions", json={"scenario": "rtt", "duration": duration})
    assert r.status_code == 201, r.text
    return tokens, r.json()


def _state(client, ex_id):
    return client.get(f"/api/v1/executions/{ex_id}").json()


def test_barrier_then_run_then_finish(app_client):
    tokens, ex = _two_node_execution(app_client)
    assert ex["snapshot"]["tasks"][0]["actions"][0]["version"] == "1.0"
    offered = wait_until(lambda: _assignments(app_client, tokens["n1"]), what="assignment")
    assert [a["name"] for a in offered[0]["actions"]] == ["a"]
    _report(app_client, tokens["n1"], ex["id"], "ready")
    time.sleep(0.3)
    assert _state(app_client, ex["id"])["state"] == "deploying"  # n2 not ready yet
    _report(app_client, tokens["n2"], ex["id"], "ready")
    running = wait_until(lambda: _state(app_client, ex["id"])["state"] == "running",
                         what="running")
    assert running
    for node in ("n1", "n2"):
        _report(app_client, tokens[node], ex["id"], "done")
    final = wait_until(lambda: (s := _state(app_client, ex["id"]))["state"] == "finished" and s,
                       what="finished")
    assert {p["state"] for p in final["nodes"]} == {"done"}
    assert _assignments(app_client, tokens["n1"]) == []


def test_failed_init_cancels_everywhere_with_reason(app_client):
    tokens, ex = _two_node_execution(app_client)
    wait_until(lambda: _assignments(app_client, tokens["n1"]), what="assignment")
    _report(app_client, tokens["n1"], ex["id"], "ready")
    _report(app_client, tokens["n2"], ex["id"], "failed", "init of action 'b' failed: boom")
    final = _state(app_client, ex["id"])
    assert final["state"] == "failed"
    assert "n2" in final["reason"] and "boom" in final["reason"]
    parts = {p["node"]: p["state"] for p in final["nodes"]}
    assert parts == {"n1": "canceled", "n2": "failed"}
    assert _assignments(app_client, tokens["n1"]) == []
    log = [line["message"] for line in
           app_client.get(f"/api/v1/executions/{ex['id']}/logs").json()]
    assert any("boom" in m for m in log) and any("canceled on node n1" in m for m in log)


def test_ingest_is_idempotent(app_client):
    tokens, ex = _two_node_execution(app_client)
    records = [{"kind": "result", "seq": i, "execution_id": ex["id"], "action": "a",
                "name": "rtt_ms", "ts": 1000.0 + i, "value": 0.1 * i} for i in range(1, 6)]
    records.append({"kind": "log", "seq": 6, "execution_id": ex["id"], "ts": 1006.0,
                    "message": "hello"})
    batch = {"spool_id": "spool-0001", "records": records}
    acks = [app_client.post("/api/v1/agent/records", json=batch, headers=_as(tokens["n1"]))
            for _ in range(3)]
    assert [a.json()["stored"] for a in acks] == [6, 0, 0]
    page = app_client.get("/api/v1/results", params={"execution": ex["id"]}).json()
    assert sorted(r["value"] for r in page["items"]) == [0.1 * i for i in range(1, 6)]


# SQLite 3.40's own decimal reader gets these one ulp wrong; the core must not use it.
MISREAD_BY_SQLITE = [0.066434, 0.892762, 0.767762, 0.143997, 0.226507, 0.060533]
OTHER_VALUES = [5, -0.0, 1e16, 2.5e-300, "0.066434", {"rtt": 0.143997}, [0.226507], True, None]


def test_every_value_comes_back_exactly_as_sent(app_client):
    tokens, ex = _two_node_execution(app_client)
    values = MISREAD_BY_SQLITE + OTHER_VALUES
    records = [{"kind": "result", "seq": i, "execution_id": ex["id"], "action": "a",
                "name": "v", "ts": 1000.0 + i, "value": v} for i, v in enumerate(values, 1)]
    r = app_client.post("/api/v1/agent/records", headers=_as(tokens["n1"]),
                        json={"spool_id": "spool-exact", "records": records})
    assert r.json()["stored"] == len(values)
    page = app_client.get("/api/v1/results", params={"execution": ex["id"]}).json()
    got = [r["value"] for r in page["items"]]
    assert got == values
    assert [type(v) for v in got] == [type(v) for v in values]


def test_node_cannot_write_into_foreign_execution(app_client):
    tokens, ex = _two_node_execution(app_client)
    enrol(app_client, "n3")
    other = app_client.post("/api/v1/node-tokens", json={"node": "n4"}).json()["token"]
    batch = {"spool_id": "spool-0001", "records": [
        {"kind": "log", "seq": 1, "execution_id": ex["id"], "ts": 1.0, "message": "x"}]}
    r = app_client.post("/api/v1/agent/records", json=batch, headers=_as(other))
    assert r.status_code == 403


def test_results_paginate(app_client):
    tokens, ex = _two_node_execution(app_client)
    records = [{"kind": "result", "seq": i, "execution_id": ex["id"], "action": "a",
                "name": "rtt_ms", "ts": float(i), "value": i} for i in range(1, 26)]
    app_client.post("/api/v1/agent/records", headers=_as(tokens["n1"]),
                    json={"spool_id": "spool-0001", "records": records})
    seen, cursor = [], 0
    while cursor is not None:
        page = app_client.get("/api/v1/results",
                              params={"execution": ex["id"], "limit": 10, "cursor": cursor}).json()
        seen += [r["value"] for r in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(range(1, 26))
    window = app_client.get("/api/v1/results", params={"since": 5, "until": 8}).json()
    assert [r["value"] for r in window["items"]] == [5, 6, 7]


def test_cancel_stops_every_part(app_client):
    tokens, ex = _two_node_execution(app_client)
    r = app_client.post(f"/api/v1/executions/{ex['id']}/cancel")
    assert r.json()["state"] == "canceled"
    assert {p["state"] for p in r.json()["nodes"]} == {"canceled"}
    assert app_client.post(f"/api/v1/executions/{ex['id']}/cancel").status_code == 409


def test_start_in_the_past_is_refused(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    r = app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 5,
                                                    "start": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["problems"][0]["pointer"] == "/start"


def test_action_starting_after_the_end_is_refused(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario(start=10))
    r = app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 5})
    assert r.status_code == 422
    assert r.json()["problems"][0]["pointer"] == "/tasks/0/actions/0/start"


def test_users_see_only_their_own(app_client):
    enrol(app_client, "n1")
    alice, bob = user_token(app_client, "alice"), user_token(app_client, "bob")
    r = app_client.put("/api/v1/scenarios/rtt", json=scenario(), headers=_as(alice))
    assert r.status_code == 200
    ex = app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 5},
                         headers=_as(alice)).json()
    assert app_client.get("/api/v1/scenarios/rtt", headers=_as(bob)).status_code == 404
    assert app_client.get("/api/v1/scenarios", headers=_as(bob)).json() == []
    assert app_client.get(f"/api/v1/executions/{ex['id']}", headers=_as(bob)).status_code == 404
    assert app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 5},
                           headers=_as(bob)).status_code == 404
    assert app_client.get(f"/api/v1/executions/{ex['id']}",
                          headers=_as(alice)).status_code == 200
    assert app_client.post("/api/v1/users", json={"name": "eve"},
                           headers=_as(bob)).status_code == 403


def test_no_token_or_bad_token_is_401(app_client):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"}):
        for path in ("/api/v1/scenarios", "/api/v1/results", "/api/v1/nodes"):
            assert app_client.get(path, headers=headers).status_code == 401
    assert app_client.get("/api/v1/health", headers={"Authorization": ""}).status_code == 200


def test_node_token_cannot_use_user_routes(app_client):
    token = enrol(app_client, "n1")
    assert app_client.get("/api/v1/scenarios", headers=_as(token)).status_code == 403
    r = app_client.post("/api/v1/agent/register", headers=_as(token), json={"name": "n2"})
    assert r.status_code == 403
