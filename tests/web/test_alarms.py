"""The alarms page: filters, acknowledge through the API with the session's CSRF token,
and the alarms on an execution's page."""

from __future__ import annotations

import re

from tests.web.conftest import enrol, execution_with, signed_in
from vantagepoint.core.websession import CSRF_HEADER


def raise_alarms(client, token: str, execution: int, values: list[float]) -> None:
    """The node sends one alarm per value, as its agent would."""
    alarms = [{"seq": i + 1, "execution_id": execution, "action": "a",
               "condition": "rtt_ms > 5", "result": "rtt_ms", "value": v, "ts": 1000.0 + i,
               "raised_at": 1000.5 + i} for i, v in enumerate(values)]
    r = client.post("/api/v1/agent/alarms", headers={"Authorization": f"Bearer {token}"},
                    json={"spool_id": "alarm-spool-1", "alarms": alarms})
    assert r.status_code == 200 and r.json()["stored"] == len(values), r.text


def _alarm_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-alarm="(\d+)"', page)]


def test_alarms_listed_filtered_and_acknowledged(browser_client):
    ex = execution_with(browser_client, [6.0, 7.0])
    token = enrol(browser_client, "n1")  # a fresh token for the same node
    raise_alarms(browser_client, token, ex, [6.0, 7.0, 8.5])
    page = browser_client.get("/alarms").text
    ids = _alarm_ids(page)
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)  # newest first
    assert "rtt_ms = 8.5" in page and f'data-api="POST /api/v1/alarms/{ids[0]}/ack"' in page
    r = browser_client.post(f"/api/v1/alarms/{ids[0]}/ack", json={"note": "known"})
    assert r.status_code == 200 and r.json()["acked_by"] == "admin"
    assert _alarm_ids(browser_client.get("/alarms").text) == ids[1:]  # open ones only
    acked = browser_client.get("/alarms", params={"show": "acked"}).text
    assert _alarm_ids(acked) == ids[:1] and "known" in acked
    assert len(_alarm_ids(browser_client.get("/alarms?show=all&execution=").text)) == 3
    assert _alarm_ids(browser_client.get(f"/alarms?show=all&execution={ex + 1}").text) == []
    assert _alarm_ids(browser_client.get("/alarms?show=all&node=n2").text) == []
    execution_page = browser_client.get(f"/executions/{ex}").text
    assert sorted(_alarm_ids(execution_page)) == sorted(ids)


def test_acknowledge_needs_the_csrf_header_and_happens_once(browser_client):
    ex = execution_with(browser_client, [6.0])
    raise_alarms(browser_client, enrol(browser_client, "n1"), ex, [6.0])
    alarm = _alarm_ids(browser_client.get("/alarms").text)[0]
    csrf = browser_client.headers.pop(CSRF_HEADER)
    assert browser_client.post(f"/api/v1/alarms/{alarm}/ack").status_code == 403
    browser_client.headers[CSRF_HEADER] = csrf
    assert browser_client.post(f"/api/v1/alarms/{alarm}/ack").status_code == 200
    again = browser_client.post(f"/api/v1/alarms/{alarm}/ack")
    assert again.status_code == 409 and "acknowledged by admin" in again.json()["message"]


def test_a_bad_filter_is_an_html_error(browser_client):
    r = browser_client.get("/alarms?execution=seven")
    assert r.status_code == 422 and "must be an execution id" in r.text


def test_another_user_sees_none_of_the_alarms(browser_client):
    ex = execution_with(browser_client, [6.0])
    raise_alarms(browser_client, enrol(browser_client, "n1"), ex, [6.0])
    assert browser_client.post("/api/v1/users", json={"name": "eve"}).status_code == 201
    token = browser_client.post("/api/v1/tokens", json={"user": "eve", "label": "t"}).json()
    eve = signed_in(browser_client, token["token"])
    assert _alarm_ids(eve.get("/alarms?show=all").text) == []
