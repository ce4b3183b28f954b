"""Scenario, task and action storage with strict validation at submission."""

from __future__ import annotations

from tests.core.conftest import enrol, scenario


def test_six_faults_are_reported_together_and_nothing_is_stored(app_client):
    enrol(app_client, "n1")
    doc = {"name": "bad", "tasks": [{"name": "t", "actions": [
        {"name": "a1", "node": "n1", "tool": "probe",
         "config": {"target": "127.0.0.1", "count": "three", "colour": "red"},
         "results": ["rtt_ms", "jitter_ms"], "conditions": ["sent > 3"]},
        {"name": "a2", "node": "nowhere", "tool": "probe", "config": {"target": "x"}},
        {"name": "a3", "node": "n1", "tool": "teleport"},
    ]}]}
    r = app_client.put("/api/v1/scenarios/bad", json=doc)
    assert r.status_code == 422
    pointers = {p["pointer"]: p["message"] for p in r.json()["problems"]}
    assert set(pointers) == {
        "/tasks/0/actions/0/config/count",
        "/tasks/0/actions/0/config",
        "/tasks/0/actions/0/results/1",
        "/tasks/0/actions/0/conditions/0",
        "/tasks/0/actions/1/node",
        "/tasks/0/actions/2/tool",
    }
    assert "not of type 'integer'" in pointers["/tasks/0/actions/0/config/count"]
    assert "colour" in pointers["/tasks/0/actions/0/config"]
    assert "jitter_ms" in pointers["/tasks/0/actions/0/results/1"]
    assert "may not be used in a condition" in pointers["/tasks/0/actions/0/conditions/0"]
    assert "nowhere" in pointers["/tasks/0/actions/1/node"]
    assert "teleport" in pointers["/tasks/0/actions/2/tool"]
    assert app_client.get("/api/v1/scenarios").json() == []
    assert app_client.get("/api/v1/scenarios/bad").status_code == 404


def test_shape_errors_name_the_field(app_client):
    r = app_client.put("/api/v1/scenarios/x", json={"name": "x", "tasks": [
        {"name": "t", "actions": [{"name": "a", "tool": "probe", "extra": 1}]}]})
    assert r.status_code == 422
    pointers = {p["pointer"] for p in r.json()["problems"]}
    assert pointers == {"/tasks/0/actions/0/node", "/tasks/0/actions/0/extra"}


def test_put_versions_only_on_change(app_client):
    enrol(app_client, "n1")
    first = app_client.put("/api/v1/scenarios/rtt", json=scenario()).json()
    same = app_client.put("/api/v1/scenarios/rtt", json=scenario()).json()
    changed = app_client.put("/api/v1/scenarios/rtt",
                             json=scenario(config={"target": "::1"})).json()
    assert (first["version"], same["version"], changed["version"]) == (1, 1, 2)


def test_name_must_match_path(app_client):
    enrol(app_client, "n1")
    r = app_client.put("/api/v1/scenarios/other", json=scenario())
    assert r.status_code == 422 and r.json()["problems"][0]["pointer"] == "/name"


def test_references_resolve_and_follow_changes(app_client):
    enrol(app_client, "n1")
    action = {"name": "shared", "node": "n1", "tool": "probe", "config": {"target": "a"}}
    assert app_client.put("/api/v1/actions/shared", json=action).status_code == 200
    task = {"name": "common", "actions": [{"ref": "shared"}]}
    assert app_client.put("/api/v1/tasks/common", json=task).status_code == 200
    doc = {"name": "uses", "tasks": [{"ref": "common"}]}
    assert app_client.put("/api/v1/scenarios/uses", json=doc).status_code == 200
    app_client.put("/api/v1/actions/shared", json={**action, "config": {"target": "b"}})
    resolved = app_client.post("/api/v1/scenarios/validate", json=doc).json()["resolved"]
    assert resolved["tasks"][0]["actions"][0]["config"] == {"target": "b"}


def test_unknown_reference_is_reported(app_client):
    r = app_client.post("/api/v1/scenarios/validate",
                        json={"name": "x", "tasks": [{"ref": "missing"}]})
    assert r.status_code == 422
    assert r.json()["problems"] == [{"pointer": "/tasks/0/ref",
                                     "message": "unknown task 'missing'"}]


def test_interface_must_exist(app_client):
    enrol(app_client, "n1", interfaces=("op0",))
    r = app_client.post("/api/v1/scenarios/validate", json=scenario(interface="op7"))
    assert r.status_code == 422
    assert "op7" in r.json()["problems"][0]["message"]
