"""The live stream delivers results, alarms, state changes and node status, filtered."""

from __future__ import annotations

import time

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.core.alarms.conftest import as_node, post_alarms, start_watched
from tests.core.conftest import enrol, user_token
from tests.support import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def subscribe(client, query: str = "", headers=ADMIN):
    ws = client.websocket_connect(f"/api/v1/stream{query}", headers=headers)
    session = ws.__enter__()
    assert session.receive_json()["kind"] == "ready"
    return ws, session


def upload(client, token, execution_id, *values, seq=1, name="rtt_ms"):
    records = [{"kind": "result", "seq": seq + i, "execution_id": execution_id, "action": "a",
                "name": name, "ts": time.time(), "value": v} for i, v in enumerate(values)]
    r = client.post("/api/v1/agent/records", headers=as_node(token),
                    json={"spool_id": "spool-0001", "records": records})
    assert r.status_code == 200, r.text


def until(session, kind: str, count: int = 1) -> list[dict]:
    """Events of one kind, in order, skipping others, until ``count`` arrived."""
    got = []
    while len(got) < count:
        event = session.receive_json()
        if event["kind"] == kind:
            got.append(event)
    return got


def test_results_and_alarms_filtered_by_execution_and_kind(alarm_client, hook):
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    token2, other = start_watched(alarm_client, ["rtt_ms > 200"], node="n2", name="rtt2")
    ws, session = subscribe(alarm_client, f"?kind=result&kind=alarm&execution={ex['id']}")
    try:
        upload(alarm_client, token2, other["id"], 1.0)  # another execution: filtered out
        upload(alarm_client, token, ex["id"], 12.5, 13.5)
        post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 250.0))
        events = [session.receive_json() for _ in range(3)]
    finally:
        ws.__exit__(None, None, None)
    # Within one poll alarms come first (they are the urgent kind); results keep their order.
    events.sort(key=lambda e: e["kind"] != "result")
    assert [(e["kind"], e["execution"], e["node"]) for e in events] == [
        ("result", ex["id"], "n1"), ("result", ex["id"], "n1"), ("alarm", ex["id"], "n1")]
    assert [e["data"].get("value") for e in events] == [12.5, 13.5, 250.0]
    assert events[2]["data"]["condition"] == "rtt_ms > 200"


def test_state_changes_and_node_filter(alarm_client, hook):
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    ws, session = subscribe(alarm_client, "?kind=state&node=n1")
    try:
        r = alarm_client.post(f"/api/v1/agent/executions/{ex['id']}/report",
                              headers=as_node(token), json={"state": "ready"})
        assert r.status_code == 200
        changes = until(session, "state", 4)
    finally:
        ws.__exit__(None, None, None)
    seen = [(e["node"], e["data"]["previous"], e["data"]["state"]) for e in changes]
    # The execution's own change to ready, from whichever state the stream saw last.
    assert any(n is None and new == "ready" for n, _, new in seen), seen
    assert ("n1", "assigned", "ready") in seen
    assert all(e["execution"] == ex["id"] for e in changes)


def test_node_status_changes(alarm_client):
    enrol(alarm_client, "n1")
    ws, session = subscribe(alarm_client, "?kind=node")
    try:
        r = alarm_client.patch("/api/v1/nodes/n1", json={"status": "maintenance",
                                                         "reason": "new modem"})
        assert r.status_code == 200, r.text
        [event] = until(session, "node")
    finally:
        ws.__exit__(None, None, None)
    assert event["node"] == "n1"
    assert event["data"]["status"] == "maintenance" and event["data"]["reason"] == "new modem"
    assert event["data"]["previous"]["status"] == "active"


def test_other_users_executions_are_not_streamed(alarm_client, hook):
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"])
    eve = {"Authorization": f"Bearer {user_token(alarm_client, 'eve')}"}
    eve_node = enrol(alarm_client, "n2")
    doc = {"name": "own", "tasks": [{"name": "t", "actions": [
        {"name": "a", "node": "n2", "tool": "probe", "config": {"target": "127.0.0.1"}}]}]}
    assert alarm_client.put("/api/v1/scenarios/own", json=doc, headers=eve).status_code == 200
    own = alarm_client.post("/api/v1/executions", json={"scenario": "own", "duration": 30},
                            headers=eve).json()
    ws, session = subscribe(alarm_client, "?kind=result&kind=alarm", headers=eve)
    try:
        upload(alarm_client, token, ex["id"], 5.0)
        post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 250.0))
        time.sleep(0.6)  # a poll or two pass over the admin's rows
        upload(alarm_client, eve_node, own["id"], 7.0)
        first = session.receive_json()
    finally:
        ws.__exit__(None, None, None)
    assert (first["execution"], first["data"]["value"]) == (own["id"], 7.0)


@pytest.mark.parametrize("query,headers,reason", [
    ("", {"Authorization": "Bearer"}, "missing token"),
    ("?token=nope", {"Authorization": "Bearer"}, "invalid or revoked user token"),
    ("?kind=metrics", ADMIN, "unknown kind(s) metrics"),
])
def test_refusals_carry_the_reason(app_client, query, headers, reason):
    """(The fixture's client sends the admin token unless a header replaces it.)"""
    with app_client.websocket_connect(f"/api/v1/stream{query}", headers=headers) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008 and reason in closed.value.reason
