"""Alarms over HTTP: sent by an agent, stored once, delivered, listed, acknowledged."""

from __future__ import annotations

import json
import time

from tests.core.alarms.conftest import delivered, post_alarms, start_watched
from tests.core.conftest import user_token
from tests.support import wait_until


def test_an_agents_alarm_is_stored_once_and_delivered_to_every_notifier(alarm_client, hook,
                                                                         tmp_path):
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    r = post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 250.0))
    assert r.json() == {"received": 1, "stored": 1}
    body = delivered(hook, 1)[0]
    assert body["scenario"] == "rtt" and body["owner"] == "admin"
    alarm = body["alarm"]
    assert (alarm["execution"], alarm["node"], alarm["action"], alarm["condition"],
            alarm["value"], alarm["origin"]) == (ex["id"], "n1", "a", "rtt_ms > 200", 250.0,
                                                 "node")
    lines = wait_until(lambda: (tmp_path / "alarms.jsonl").exists()
                       and (tmp_path / "alarms.jsonl").read_text().splitlines(),
                       what="the command notifier's file")
    assert json.loads(lines[0])["alarm"]["id"] == alarm["id"]
    # The agent resends (its ack was lost): nothing new is stored or delivered.
    r = post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 250.0))
    assert r.json() == {"received": 1, "stored": 0}
    time.sleep(0.5)
    assert hook.alarm_ids() == [alarm["id"]]
    logs = alarm_client.get(f"/api/v1/executions/{ex['id']}/logs").json()
    assert any(f"alarm {alarm['id']}: rtt_ms > 200" in line["message"] for line in logs)


def test_list_filter_and_acknowledge(alarm_client, hook):
    token, ex = start_watched(alarm_client, ["rtt_ms > 200", "mean(rtt_ms, 10s) > 100"])
    post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 300.0),
                (2, "mean(rtt_ms, 10s) > 100", 120.0))
    found = alarm_client.get("/api/v1/alarms", params={"execution": ex["id"]}).json()
    assert [a["condition"] for a in found] == ["mean(rtt_ms, 10s) > 100", "rtt_ms > 200"]
    first = found[-1]["id"]
    r = alarm_client.post(f"/api/v1/alarms/{first}/ack", json={"note": "known outage"})
    assert r.status_code == 200 and r.json()["acked_by"] == "admin"
    assert r.json()["note"] == "known outage"
    again = alarm_client.post(f"/api/v1/alarms/{first}/ack", json={})
    assert again.status_code == 409 and "acknowledged by admin" in again.json()["message"]
    unacked = alarm_client.get("/api/v1/alarms", params={"acked": False}).json()
    assert [a["id"] for a in unacked] == [found[0]["id"]]
    assert alarm_client.get("/api/v1/alarms", params={"node": "elsewhere"}).json() == []


def test_alarms_are_private_to_the_executions_owner(alarm_client, hook):
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 300.0))
    alarm_id = alarm_client.get("/api/v1/alarms").json()[0]["id"]
    other = {"Authorization": f"Bearer {user_token(alarm_client, 'eve')}"}
    assert alarm_client.get("/api/v1/alarms", headers=other).json() == []
    assert alarm_client.get(f"/api/v1/alarms/{alarm_id}", headers=other).status_code == 404
    assert alarm_client.post(f"/api/v1/alarms/{alarm_id}/ack", headers=other).status_code == 404


def test_a_node_may_only_raise_alarms_in_its_own_executions(alarm_client, hook):
    _, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    from tests.core.conftest import enrol

    stranger = enrol(alarm_client, "n9")
    r = post_alarms(alarm_client, stranger, ex["id"], (1, "rtt_ms > 200", 300.0))
    assert r.status_code == 403 and "n9" in r.json()["message"]
    assert alarm_client.get("/api/v1/alarms").json() == []


def test_webhook_retries_until_the_receiver_takes_it(alarm_client, hook):
    hook.fail_first = 2
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 300.0))
    delivered(hook, 1)
    assert hook.attempts == 3


def test_conditions_and_reactions_are_validated_with_pointers(alarm_client):
    from tests.core.conftest import enrol, scenario

    enrol(alarm_client, "n1")
    doc = scenario(conditions=["rtt_ms > 200", "median(rtt_ms, 5s) > 1", "p95(sent, 1m) > 3"],
                   reactions=[{"when": "rtt_ms > 300", "scenario": "trace", "duration": 10}])
    r = alarm_client.post("/api/v1/scenarios/validate", json=doc)
    assert r.status_code == 422
    problems = {p["pointer"]: p["message"] for p in r.json()["problems"]}
    base = "/tasks/0/actions/0"
    assert "unknown aggregate 'median'" in problems[f"{base}/conditions/1"]
    assert set(problems) == {f"{base}/conditions/1"}  # pydantic stops at the parse error
    doc = scenario(conditions=["rtt_ms > 200", "p95(sent, 1m) > 3"],
                   reactions=[{"when": "rtt_ms > 300", "scenario": "trace", "duration": 10}])
    r = alarm_client.post("/api/v1/scenarios/validate", json=doc)
    problems = {p["pointer"]: p["message"] for p in r.json()["problems"]}
    assert "may not be used in a condition" in problems[f"{base}/conditions/1"]
    assert "not one of the action's conditions" in problems[f"{base}/reactions/0/when"]
    doc = {**scenario(conditions=["rtt_ms > 200"]), "notify": ["hook", "pager"]}
    r = alarm_client.post("/api/v1/scenarios/validate", json=doc)
    assert r.status_code == 422
    assert [p["pointer"] for p in r.json()["problems"]] == ["/notify/1"]
