"""The client's schedule, calendar, quota and node-status calls over a mock transport."""

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from vantagepoint.client import Client, Scenario, Unschedulable

NODE = {"name": "n1", "interfaces": [], "attributes": {}, "tools": [], "online": True,
        "status": "maintenance", "last_seen": None, "registered_at": None}


@pytest.fixture
def calls():
    """The requests a client made, and the client (answers echo a fixed JSON body)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PUT" and request.url.path.startswith("/api/v1/scenarios/"):
            return httpx.Response(200, json=json.loads(request.content))
        if request.url.path.startswith("/api/v1/nodes/"):
            return httpx.Response(200, json=NODE)
        return httpx.Response(200, json={"ok": True})

    return seen, Client("http://core.test", "t", transport=httpx.MockTransport(handler))


def _body(request: httpx.Request):
    return json.loads(request.content)


def test_schedule_posts_only_what_is_set_with_times_in_utc(calls):
    seen, client = calls
    cet = timezone(timedelta(hours=1))
    client.schedule("rtt", 300, mode="at", start=datetime(2026, 5, 1, 13, 0, tzinfo=cet),
                    every=3600, until=datetime(2026, 5, 2, tzinfo=UTC), filter="country=no",
                    count=2, min_interfaces=1)
    assert (seen[0].method, seen[0].url.path) == ("POST", "/api/v1/schedules")
    assert _body(seen[0]) == {
        "scenario": "rtt", "mode": "at", "duration": 300, "start": "2026-05-01T12:00:00+00:00",
        "every": 3600, "until": "2026-05-02T00:00:00+00:00", "filter": "country=no",
        "count": 2, "min_interfaces": 1, "dry_run": False}


def test_schedule_submits_a_builder_first(calls):
    seen, client = calls
    client.schedule(Scenario("probe"), 60, roles={"a": ["n1"]}, dry_run=True)
    assert [r.method for r in seen] == ["PUT", "POST"]
    assert _body(seen[1]) == {"scenario": "probe", "mode": "earliest", "duration": 60,
                              "roles": {"a": ["n1"]}, "dry_run": True}


def test_the_other_calls_use_their_routes(calls):
    seen, client = calls
    client.schedules(state="requested")
    client.get_schedule(4)
    client.cancel_schedule(4)
    client.calendar(node="n1", start=datetime(2026, 5, 1, tzinfo=UTC), end="2026-05-02T00:00:00Z")
    client.quota()
    client.quotas()
    client.set_quota("bob", data_bytes_limit=10)
    assert client.set_node_status("n1", "maintenance", reason="modem").status == "maintenance"
    assert [(r.method, r.url.path) for r in seen] == [
        ("GET", "/api/v1/schedules"), ("GET", "/api/v1/schedules/4"),
        ("DELETE", "/api/v1/schedules/4"), ("GET", "/api/v1/calendar"),
        ("GET", "/api/v1/quotas/me"), ("GET", "/api/v1/quotas"), ("PUT", "/api/v1/quotas/bob"),
        ("PATCH", "/api/v1/nodes/n1")]
    assert dict(seen[0].url.params) == {"state": "requested"}
    assert dict(seen[3].url.params) == {"node": "n1", "start": "2026-05-01T00:00:00+00:00",
                                        "end": "2026-05-02T00:00:00Z"}
    assert _body(seen[6]) == {"data_bytes_limit": 10}
    assert _body(seen[7]) == {"status": "maintenance", "reason": "modem"}


def test_a_refusal_is_unschedulable_with_every_problem():
    body = {"error": "unschedulable", "message": "refused",
            "problems": [{"pointer": "/occurrences/7", "message": "only 3/5 nodes"}]}
    client = Client("http://core.test", "t",
                    transport=httpx.MockTransport(lambda r: httpx.Response(409, json=body)))
    with pytest.raises(Unschedulable) as caught:
        client.schedule("rtt", 60)
    assert caught.value.problems[0].message == "only 3/5 nodes"
