"""Execution models over HTTP: all-or-nothing fails at the first failure, quorum goes on
while enough actions work and logs every failure; both chosen and validated per scenario."""

from __future__ import annotations

from tests.core.conftest import enrol, scenario
from tests.support import wait_until


def _as(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def three_actions(model: dict | None = None) -> dict:
    """a and c on n1, b on n2."""
    doc = scenario("three")
    first = doc["tasks"][0]["actions"][0]
    doc["tasks"][0]["actions"] += [{**first, "name": "b", "node": "n2"},
                                   {**first, "name": "c"}]
    if model is not None:
        doc["execution_model"] = model
    return doc


def _start(client, doc: dict) -> tuple[dict, dict]:
    tokens = {n: enrol(client, n) for n in ("n1", "n2")}
    r = client.put("/api/v1/scenarios/three", json=doc)
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/executions", json={"scenario": "three", "duration": 1})
    assert r.status_code == 201, r.text
    ex = r.json()
    wait_until(lambda: client.get("/api/v1/agent/assignments", headers=_as(tokens["n1"])).json(),
               what="assignment")
    return tokens, ex


def _report(client, token, ex_id, state, reason=None, failed=None) -> dict:
    r = client.post(f"/api/v1/agent/executions/{ex_id}/report", headers=_as(token),
                    json={"state": state, "reason": reason, "failed_actions": failed or {}})
    assert r.status_code == 200, r.text
    return r.json()


def _get(client, ex_id) -> dict:
    return client.get(f"/api/v1/executions/{ex_id}").json()


def _log(client, ex_id) -> list[str]:
    return [line["message"] for line in client.get(f"/api/v1/executions/{ex_id}/logs").json()]


QUORUM = {"name": "quorum", "config": {"min_actions": 2}}


def test_quorum_goes_on_without_a_failed_action_and_logs_it(app_client):
    tokens, ex = _start(app_client, three_actions(QUORUM))
    offered = app_client.get("/api/v1/agent/assignments", headers=_as(tokens["n1"])).json()
    assert offered[0]["tolerant"] is True
    _report(app_client, tokens["n1"], ex["id"], "ready", failed={"c": "init failed: boom"})
    _report(app_client, tokens["n2"], ex["id"], "ready")
    wait_until(lambda: _get(app_client, ex["id"])["state"] == "running", what="running")
    _report(app_client, tokens["n1"], ex["id"], "done", failed={"c": "init failed: boom"})
    _report(app_client, tokens["n2"], ex["id"], "done")
    final = wait_until(lambda: (s := _get(app_client, ex["id"]))["state"] == "finished" and s,
                       what="finished")
    assert {p["state"] for p in final["nodes"]} == {"done"}
    log = _log(app_client, ex["id"])
    assert sum("action 'c' on node n1 failed: init failed: boom" in m for m in log) == 1
    assert any("2 of 3 actions worked" in m for m in log)


def test_quorum_lost_fails_the_execution_naming_every_failure(app_client):
    tokens, ex = _start(app_client, three_actions(QUORUM))
    _report(app_client, tokens["n1"], ex["id"], "ready", failed={"c": "init failed: boom"})
    assert _get(app_client, ex["id"])["state"] == "deploying"  # 2 of 3 still work
    _report(app_client, tokens["n2"], ex["id"], "failed", "init of action 'b' failed: gone")
    final = _get(app_client, ex["id"])
    assert final["state"] == "failed"
    assert final["reason"].startswith("quorum lost: 1 of 3 actions work, 2 needed")
    assert "boom" in final["reason"] and "gone" in final["reason"]


def test_all_or_nothing_fails_at_the_first_failure(app_client):
    tokens, ex = _start(app_client, three_actions())
    offered = app_client.get("/api/v1/agent/assignments", headers=_as(tokens["n1"])).json()
    assert offered[0]["tolerant"] is False
    _report(app_client, tokens["n2"], ex["id"], "failed", "init of action 'b' failed: gone")
    final = _get(app_client, ex["id"])
    assert final["state"] == "failed" and final["reason"] == \
        "node n2: init of action 'b' failed: gone"
    assert {p["node"]: p["state"] for p in final["nodes"]} == {"n1": "canceled", "n2": "failed"}


def test_quorum_in_percent_rounds_up(app_client):
    tokens, ex = _start(app_client, three_actions({"name": "quorum",
                                                   "config": {"min_percent": 50}}))
    _report(app_client, tokens["n2"], ex["id"], "failed", "gone")  # 2 of 3 left: >= 1.5
    assert _get(app_client, ex["id"])["state"] == "deploying"
    _report(app_client, tokens["n1"], ex["id"], "ready", failed={"c": "init failed: boom"})
    final = _get(app_client, ex["id"])  # 1 of 3 < 2 (50 % of 3, rounded up)
    assert final["state"] == "failed" and "1 of 3 actions work, 2 needed" in final["reason"]


def test_execution_model_is_validated_with_pointers(app_client):
    enrol(app_client, "n1")
    enrol(app_client, "n2")
    cases = [
        ({"name": "majority"}, "/execution_model/name", "unknown execution model 'majority'"),
        ({"name": "quorum", "config": {}}, "/execution_model/config", "is not valid"),
        ({"name": "quorum", "config": {"min_actions": 0}},
         "/execution_model/config/min_actions", "less than the minimum"),
        ({"name": "quorum", "config": {"min_actions": 4}}, "/execution_model/config",
         "needs 4 working actions but the scenario has 3"),
        ({"name": "all-or-nothing", "config": {"x": 1}}, "/execution_model/config",
         "unknown field"),
    ]
    for model, pointer, message in cases:
        r = app_client.put("/api/v1/scenarios/three", json=three_actions(model))
        assert r.status_code == 422, (model, r.text)
        problems = r.json()["problems"]
        assert [p["pointer"] for p in problems] == [pointer], (model, problems)
        assert message in problems[0]["message"], (model, problems)
    assert app_client.get("/api/v1/scenarios").json() == []
