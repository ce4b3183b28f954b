"""Scheduling through the API: atomic periodic and multi-node requests, first fit,
dry runs, quotas, filters, low priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.core.conftest import PROBE, enrol, scenario, user_token
from tests.support import wait_until

HOUR = 3600


def _at(hours: float) -> datetime:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return base + timedelta(hours=hours)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _schedule(client, headers=None, **body):
    body.setdefault("scenario", "rtt")
    body.setdefault("duration", HOUR / 2)
    for key in ("start", "until"):
        if isinstance(body.get(key), datetime):
            body[key] = _iso(body[key])
    return client.post("/api/v1/schedules", json=body, headers=headers or {})


def _bookings(client, node=None):
    params = {"start": _iso(_at(-48)), "end": _iso(_at(24 * 30))}
    if node:
        params["node"] = node
    return client.get("/api/v1/calendar", params=params).json()


def _role_scenario(client, name="roles", **extra):
    doc = scenario(name=name, node="probe")
    doc["roles"] = ["probe"]
    doc.update(extra)
    assert client.put(f"/api/v1/scenarios/{name}", json=doc).status_code == 200, doc


def test_periodic_is_atomic(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    assert _schedule(app_client, mode="at", start=_at(3)).status_code == 201
    r = _schedule(app_client, mode="at", start=_at(0), every=HOUR, until=_at(5))
    assert r.status_code == 409
    problems = r.json()["problems"]
    assert problems and all("/occurrences/3/nodes/n1" == p["pointer"] for p in problems)
    assert "[exclusive]" in problems[0]["message"] and "schedule 1" in problems[0]["message"]
    assert len(_bookings(app_client)) == 1  # nothing of the refused request was kept


def test_explicit_multi_node_is_atomic(app_client):
    for node in ("n1", "n2", "n3"):
        enrol(app_client, node)
    app_client.put("/api/v1/scenarios/n2only", json=scenario(name="n2only", node="n2"))
    assert _schedule(app_client, scenario="n2only", mode="at", start=_at(1)).status_code == 201
    _role_scenario(app_client)
    r = _schedule(app_client, scenario="roles", mode="at", start=_at(1), nodes=["n1", "n2", "n3"])
    assert r.status_code == 409
    assert {p["pointer"] for p in r.json()["problems"]} == {"/occurrences/0/nodes/n2"}
    assert len(_bookings(app_client)) == 1
    ok = _schedule(app_client, scenario="roles", mode="at", start=_at(2), nodes=["n1", "n2", "n3"])
    assert ok.status_code == 201
    assert ok.json()["occurrences"][0]["nodes"] == ["n1", "n2", "n3"]


def test_filtered_count_names_the_shortage(app_client):
    for node in ("a1", "a2", "a3", "b1"):
        enrol(app_client, node)
    _patch_attrs(app_client, {"a1": "se", "a2": "se", "a3": "se", "b1": "no"})
    app_client.put("/api/v1/scenarios/a2", json=scenario(name="a2", node="a2"))
    assert _schedule(app_client, scenario="a2", mode="at", start=_at(1)).status_code == 201
    _role_scenario(app_client)
    r = _schedule(app_client, scenario="roles", mode="at", start=_at(0), every=HOUR,
                  until=_at(3), filter="country=se", count=3)
    assert r.status_code == 409
    assert "only 2/3 nodes free in occurrence 1" in r.json()["message"]
    two = _schedule(app_client, scenario="roles", mode="at", start=_at(0), every=HOUR,
                    until=_at(3), filter="country=se", count=2)
    assert two.status_code == 201
    nodes = {tuple(o["nodes"]) for o in two.json()["occurrences"]}
    assert nodes == {("a1", "a3")}


def _patch_attrs(client, countries):
    for node, country in countries.items():
        token = client.post("/api/v1/node-tokens", json={"node": node}).json()["token"]
        body = {"name": node, "attributes": {"country": country},
                "interfaces": [{"name": "op0"}], "tools": [PROBE.model_dump(mode="json")]}
        client.post("/api/v1/agent/register", json=body,
                    headers={"Authorization": f"Bearer {token}"}).raise_for_status()


def test_first_fit_and_dry_run(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    assert _schedule(app_client, mode="at", start=_at(1), duration=HOUR).status_code == 201
    dry = _schedule(app_client, mode="earliest", start=_at(1), dry_run=True)
    assert dry.status_code == 200 and dry.json()["dry_run"]
    assert dry.json()["occurrences"][0]["start"].startswith(_iso(_at(2))[:16])
    assert len(_bookings(app_client)) == 1
    taken = _schedule(app_client, mode="earliest", start=_at(1))
    assert taken.json()["occurrences"][0]["start"] == dry.json()["occurrences"][0]["start"]


def test_quota_refusal_refund_on_cancel(app_client):
    enrol(app_client, "n1")
    alice = {"Authorization": f"Bearer {user_token(app_client, 'alice')}"}
    app_client.put("/api/v1/quotas/alice", json={"node_seconds_limit": 3 * HOUR})
    app_client.put("/api/v1/scenarios/rtt", json=scenario(), headers=alice)
    r = _schedule(app_client, alice, mode="at", start=_at(0), every=HOUR, until=_at(7))
    assert r.status_code == 409
    assert "node time quota" in r.json()["problems"][0]["message"]
    assert "needs 12600" in r.json()["problems"][0]["message"]
    ok = _schedule(app_client, alice, mode="at", start=_at(0), every=HOUR, until=_at(4))
    assert ok.status_code == 201
    quota = app_client.get("/api/v1/quotas/me", headers=alice).json()
    assert quota["node_seconds_used"] == 4 * HOUR / 2
    app_client.delete(f"/api/v1/schedules/{ok.json()['id']}", headers=alice)
    assert app_client.get("/api/v1/quotas/me", headers=alice).json()["node_seconds_used"] == 0


def test_node_in_maintenance_gets_no_work(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    app_client.patch("/api/v1/nodes/n1", json={"status": "maintenance", "reason": "modem"})
    r = _schedule(app_client, mode="earliest")
    assert r.status_code == 409 and "[node-state]" in r.json()["problems"][0]["message"]
    app_client.patch("/api/v1/nodes/n1", json={"status": "active"})
    assert _schedule(app_client, mode="earliest").status_code == 201


def test_limits_are_checked(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    r = _schedule(app_client, mode="at", start=_at(0), every=60, duration=10 ** 6)
    pointers = {p["pointer"] for p in r.json()["problems"]}
    assert r.status_code == 422 and pointers == {"/duration", "/every", "/until"}


def test_low_priority_waits_for_an_idle_gap(app_client):
    enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    soon = datetime.now(UTC) + timedelta(seconds=2)
    blocker = _schedule(app_client, mode="at", start=soon, duration=HOUR).json()
    low = _schedule(app_client, mode="low_priority", duration=5).json()
    assert low["state"] == "waiting"
    import time

    time.sleep(1.0)
    assert app_client.get(f"/api/v1/schedules/{low['id']}").json()["state"] == "waiting"
    app_client.delete(f"/api/v1/schedules/{blocker['id']}")
    started = wait_until(lambda: (s := app_client.get(f"/api/v1/schedules/{low['id']}").json())
                         ["state"] == "active" and s, timeout=10, what="low priority to start")
    assert started["occurrences"][0]["execution"] is not None


def test_data_debit_is_corrected_from_reported_traffic(app_client):
    token = enrol(app_client, "n1")
    app_client.put("/api/v1/scenarios/rtt",
                   json={**scenario(interface="op0"), "traffic_bytes": 1000})
    ex = app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 1}).json()
    assert app_client.get("/api/v1/quotas/me").json()["data_bytes_used"] == 1000
    headers = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: app_client.get("/api/v1/agent/assignments", headers=headers).json(),
               what="the assignment")
    for state, extra in (("ready", {}), ("done", {"traffic_bytes": 250})):
        r = app_client.post(f"/api/v1/agent/executions/{ex['id']}/report", headers=headers,
                            json={"state": state, **extra})
        assert r.status_code == 200, r.text
    assert app_client.get("/api/v1/quotas/me").json()["data_bytes_used"] == 250
