"""Studies over HTTP on a real database: 72 combinations validated, stored and booked back
to back; one bad combination refuses all; reruns keep their runs apart."""

from __future__ import annotations

from datetime import datetime

from tests.core.conftest import enrol
from tests.support import wait_until

LOADS = [{"name": "low", "count": 1}, {"name": "medium", "count": 5},
         {"name": "high", "count": 20}]


def device_study(name: str = "dev-eval", duration: float = 60) -> dict:
    """The classic device evaluation: 3 loads x 3 patterns x 2 SNMP sets x 4 configs."""
    action = {"name": "gen", "node": "n1", "tool": "probe", "results": ["rtt_ms"],
              "config": {"target": "192.0.2.${config}", "count": "${load.count}"},
              "tags": ["${pattern}", "snmp-${snmp}"]}
    return {"name": name, "description": "load x pattern x snmp x config",
            "parameters": {"load": LOADS, "pattern": ["constant", "burst", "ramp"],
                           "snmp": ["basic", "full"], "config": [1, 2, 3, 4]},
            "template": {"tasks": [{"name": "t", "actions": [action]}]},
            "schedule": {"duration": duration, "gap": 5}}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _check_back_to_back(items: list[dict], gap: float) -> None:
    for before, after in zip(items, items[1:], strict=False):
        assert (_time(after["start"]) - _time(before["end"])).total_seconds() >= gap - 1e-6


def test_72_combinations_validated_stored_and_booked_back_to_back(app_client):
    enrol(app_client, "n1")
    r = app_client.post("/api/v1/studies", json=device_study())
    assert r.status_code == 201, r.text
    study = r.json()
    assert study["combinations"] == 72 and len(study["runs"]) == 1
    items = study["runs"][0]["items"]
    assert [i["position"] for i in items] == list(range(72))
    assert items[0]["params"] == {"load": LOADS[0], "pattern": "constant", "snmp": "basic",
                                  "config": 1}
    assert items[-1]["params"]["load"]["name"] == "high" and items[-1]["params"]["config"] == 4
    _check_back_to_back(items, gap=5)
    assert all((_time(i["end"]) - _time(i["start"])).total_seconds() == 60 for i in items)
    stored = app_client.get(f"/api/v1/scenarios/{items[-1]['scenario']}").json()["spec"]
    action = stored["tasks"][0]["actions"][0]
    assert action["config"] == {"target": "192.0.2.4", "count": 20}
    assert action["tags"] == ["ramp", "snmp-full"]
    calendar = app_client.get("/api/v1/calendar", params={"node": "n1", "end": items[-1]["end"]})
    spans = sorted((_time(b["start"]), _time(b["end"])) for b in calendar.json())
    assert len(spans) == 72
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_one_bad_combination_refuses_the_study_and_stores_nothing(app_client):
    enrol(app_client, "n1")
    doc = device_study("clash")
    # Two actions named by two axes collide in exactly one combination: a=x, b=x.
    doc["parameters"] = {"a": ["x", "y"], "b": ["x", "z"]}
    base = doc["template"]["tasks"][0]["actions"][0]
    base["config"] = {"target": "192.0.2.1"}
    base.pop("tags")
    doc["template"]["tasks"][0]["actions"] = [{**base, "name": "p-${a}"},
                                              {**base, "name": "p-${b}"}]
    r = app_client.post("/api/v1/studies", json=doc)
    assert r.status_code == 422, r.text
    body = r.json()
    assert "1 of 4 combinations" in body["message"] and "a=x, b=x" in body["message"]
    assert [p["pointer"] for p in body["problems"]] == \
        ["/combinations/0/tasks/0/actions/1/name"]
    assert body["problems"][0]["message"].startswith("a=x, b=x:")
    assert app_client.get("/api/v1/scenarios").json() == []
    assert app_client.get("/api/v1/schedules").json() == []
    assert app_client.get("/api/v1/studies").json() == []


def test_malformed_study_points_at_the_field(app_client):
    doc = device_study()
    doc["template"]["tasks"][0]["actions"][0]["config"]["target"] = "${nope}"
    doc["schedule"]["duration"] = -1
    r = app_client.post("/api/v1/studies", json=doc)
    assert r.status_code == 422
    assert [p["pointer"] for p in r.json()["problems"]] == ["/schedule/duration"]
    doc["schedule"]["duration"] = 60
    r = app_client.post("/api/v1/studies", json=doc)
    problem = r.json()["problems"][0]
    assert problem["pointer"] == "/template/tasks/0/actions/0/config/target"
    assert "unknown parameter 'nope'" in problem["message"]


def test_unschedulable_combination_refuses_the_whole_study(app_client):
    enrol(app_client, "n1")
    doc = device_study("late")
    doc["template"]["tasks"][0]["actions"][0]["start"] = "${config}"
    doc["schedule"]["duration"] = 3.5  # config 4 starts after the end
    r = app_client.post("/api/v1/studies", json=doc)
    assert r.status_code == 422, r.text
    assert "combination 3 (load=low, pattern=constant, snmp=basic, config=4)" in \
        r.json()["message"]
    assert app_client.get("/api/v1/schedules").json() == []
    assert app_client.get("/api/v1/scenarios").json() == []


def test_rerun_books_a_second_run_after_the_first(app_client):
    enrol(app_client, "n1")
    first = app_client.post("/api/v1/studies", json=device_study()).json()["runs"][0]
    r = app_client.post("/api/v1/studies/dev-eval/runs", json={"note": "new firmware"})
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["number"] == 2 and second["note"] == "new firmware"
    assert {i["schedule"] for i in first["items"]}.isdisjoint(
        {i["schedule"] for i in second["items"]})
    assert _time(second["items"][0]["start"]) >= _time(first["items"][-1]["end"])
    runs = app_client.get("/api/v1/studies/dev-eval").json()["runs"]
    assert [run["number"] for run in runs] == [1, 2]
    # The first combinations may be deploying already; every one is accounted for.
    assert sum(runs[0]["states"].values()) == 72 and runs[1]["states"] == {"reserved": 72}
    assert app_client.post("/api/v1/studies/nope/runs", json={}).status_code == 404
    assert app_client.post("/api/v1/studies", json=device_study()).status_code == 409


def _as(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _carry_out(client, token: str, run: dict, value: float) -> None:
    """Play the agent for each execution of a run: ready, one result, done."""
    for item in run["items"]:
        schedule = client.get(f"/api/v1/schedules/{item['schedule']}").json()
        ex_id = wait_until(lambda s=item: client.get(f"/api/v1/schedules/{s['schedule']}")
                           .json()["occurrences"][0]["execution"], timeout=30,
                           what="materialized")
        assert schedule["scenario"] == item["scenario"]
        post = client.post(f"/api/v1/agent/executions/{ex_id}/report", headers=_as(token),
                           json={"state": "ready"})
        assert post.status_code == 200, post.text
        wait_until(lambda e=ex_id: client.get(f"/api/v1/executions/{e}").json()["state"]
                   == "running", timeout=30, what="running")
        records = [{"kind": "result", "seq": 1, "execution_id": ex_id, "action": "gen",
                    "name": "rtt_ms", "ts": 1000.0, "value": value}]
        client.post("/api/v1/agent/records", headers=_as(token),
                    json={"spool_id": f"spool-{ex_id:06d}", "records": records})
        client.post(f"/api/v1/agent/executions/{ex_id}/report", headers=_as(token),
                    json={"state": "done"})


def test_results_carry_study_run_and_parameters_and_runs_stay_apart(app_client):
    token = enrol(app_client, "n1")
    doc = device_study("quick", duration=1)
    doc["parameters"] = {"load": LOADS[:2]}
    action = doc["template"]["tasks"][0]["actions"][0]
    action["config"]["target"] = "192.0.2.1"
    action.pop("tags")
    run1 = app_client.post("/api/v1/studies", json=doc).json()["runs"][0]
    _carry_out(app_client, token, run1, 1.0)
    run2 = app_client.post("/api/v1/studies/quick/runs", json={}).json()
    _carry_out(app_client, token, run2, 2.0)
    for number, value in ((1, 1.0), (2, 2.0)):
        page = app_client.get("/api/v1/results",
                              params={"study": "quick", "run": number}).json()["items"]
        assert [(r["study"], r["study_run"], r["study_params"]["load"]["name"], r["value"])
                for r in page] == [("quick", number, "low", value),
                                   ("quick", number, "medium", value)]
    status = app_client.get("/api/v1/studies/quick").json()
    executions = [i["execution"] for run in status["runs"] for i in run["items"]]
    assert len(set(executions)) == 4 and None not in executions
    ex = app_client.get(f"/api/v1/executions/{executions[3]}").json()
    assert (ex["study"], ex["study_run"], ex["study_params"]["load"]["name"]) == \
        ("quick", 2, "medium")
