"""The node stream at the core: metadata and background results, idempotent, queryable."""

from __future__ import annotations

from tests.core.conftest import enrol, user_token


def _message(seq: int, topic: str, ts: float, **fields) -> dict:
    body = {"SequenceNumber": seq, "Timestamp": ts, "DataId": topic, "DataVersion": 1,
            "NodeId": "n1", **fields}
    return {"kind": "metadata", "seq": seq, "topic": topic, "ts": ts, "message": body}


def _upload(client, token: str, records: list[dict], spool_id: str = "stream-0001"):
    return client.post("/api/v1/agent/stream", json={"spool_id": spool_id, "records": records},
                       headers={"Authorization": f"Bearer {token}"})


def _batch() -> list[dict]:
    gps = "MONROE.META.DEVICE.GPS"
    modem = "MONROE.META.DEVICE.MODEM.8946071234567890123.UPDATE"
    return [_message(1, gps, 100.0, Latitude=59.4, Longitude=13.58),
            _message(2, modem, 101.0, Operator="Telia", NMEA="x" * 20000),  # no 8 KB cut
            _message(3, "MONROE.META.NODE.SENSOR.cpu", 102.0, idle=90.0),
            _message(4, "MONROE.META.DEVICE.GPSX", 103.0),
            {"kind": "background", "seq": 5, "action": "background-ping.op0",
             "name": "rtt_ms", "ts": 104.0, "value": 0.25}]


def test_stream_is_stored_once_and_queried_by_node_prefix_and_time(app_client):
    token = enrol(app_client, "n1")
    first = _upload(app_client, token, _batch())
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 5, "stored": 5, "max_seq": 5}
    assert _upload(app_client, token, _batch()).json()["stored"] == 0  # a retry

    def topics(**params):
        r = app_client.get("/api/v1/metadata", params=params)
        assert r.status_code == 200, r.text
        return [m["topic"] for m in r.json()["items"]]

    assert len(topics(node="n1")) == 4
    assert topics(node="n1", topic="MONROE.META.DEVICE.GPS") == [
        "MONROE.META.DEVICE.GPS", "MONROE.META.DEVICE.GPSX"]  # a prefix, as ZeroMQ has it
    assert topics(topic="MONROE.META.DEVICE.MODEM") == [
        "MONROE.META.DEVICE.MODEM.8946071234567890123.UPDATE"]
    assert topics(node="n1", since=101.0, until=103.0) == [
        "MONROE.META.DEVICE.MODEM.8946071234567890123.UPDATE", "MONROE.META.NODE.SENSOR.cpu"]
    assert topics(node="n2") == []
    items = app_client.get("/api/v1/metadata", params={"topic": "MONROE.META.DEVICE.MODEM"}
                           ).json()["items"]
    assert len(items[0]["message"]["NMEA"]) == 20000 and items[0]["node"] == "n1"

    background = app_client.get("/api/v1/results", params={"background": "true"}).json()
    assert [(r["action"], r["value"], r["execution"], r["background"])
            for r in background["items"]] == [("background-ping.op0", 0.25, None, True)]
    assert app_client.get("/api/v1/results").json()["items"] == []


def test_metadata_pages_follow_the_cursor(app_client):
    token = enrol(app_client, "n1")
    records = [_message(i, "MONROE.META.NODE.SENSOR.cpu", float(i)) for i in range(1, 8)]
    assert _upload(app_client, token, records).status_code == 200
    seen, cursor = [], 0
    while cursor is not None:
        page = app_client.get("/api/v1/metadata", params={"limit": 3, "cursor": cursor}).json()
        seen += [m["message"]["SequenceNumber"] for m in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(range(1, 8))


def test_bad_messages_are_refused_naming_the_field(app_client):
    token = enrol(app_client, "n1")
    bad = _message(1, "MONROE.META.NODE.EVENT", 1.0)
    del bad["message"]["NodeId"]
    r = _upload(app_client, token, [bad])
    assert r.status_code == 422
    assert r.json()["problems"][0]["pointer"] == "/records/0/message"
    r = _upload(app_client, token, [_message(1, "MONROE..META", 1.0)])
    assert r.status_code == 422 and r.json()["problems"][0]["pointer"].endswith("/topic")
    r = app_client.get("/api/v1/metadata", params={"topic": "bad topic"})
    assert r.status_code == 422
    assert app_client.get("/api/v1/metadata").json()["items"] == []


def test_users_read_metadata_but_nodes_cannot_post_as_users(app_client):
    token = enrol(app_client, "n1")
    _upload(app_client, token, _batch())
    alice = user_token(app_client, "alice")
    r = app_client.get("/api/v1/metadata", headers={"Authorization": f"Bearer {alice}"})
    assert r.status_code == 200 and len(r.json()["items"]) == 4
    r = app_client.post("/api/v1/agent/stream", json={"spool_id": "stream-0001", "records": []})
    assert r.status_code in (401, 403)


def test_a_node_enters_maintenance_and_an_admin_resumes_it(app_client):
    token = enrol(app_client, "n1")
    auth = {"Authorization": f"Bearer {token}"}
    r = app_client.post("/api/v1/agent/maintenance", json={"reason": "watchdog gave up"},
                        headers=auth)
    assert r.json() == {"status": "maintenance", "reason": "watchdog gave up"}
    node = app_client.get("/api/v1/nodes/n1").json()
    assert node["status"] == node["state"] == "maintenance"
    assert app_client.patch("/api/v1/nodes/n1", json={"status": "active"}).status_code == 200
    assert app_client.get("/api/v1/agent/status", headers=auth).json()["status"] == "active"
    r = app_client.post("/api/v1/agent/maintenance", json={"reason": ""}, headers=auth)
    assert r.status_code == 422
