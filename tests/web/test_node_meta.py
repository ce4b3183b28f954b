"""The node page from the node's metadata: GPS position, modems per interface, sensor
charts, events; and the background ping's RTT per interface, downsampled."""

from __future__ import annotations

import pytest

from tests.core.conftest import user_token
from tests.web.conftest import enrol, execution_with
from vantagepoint.core.websession import COOKIE

GPS = "MONROE.META.DEVICE.GPS"
MODEM = "MONROE.META.DEVICE.MODEM.{}.UPDATE"


def _message(seq: int, topic: str, ts: float, **fields) -> dict:
    body = {"SequenceNumber": seq, "Timestamp": ts, "DataId": topic, "DataVersion": 1,
            "NodeId": "n1", **fields}
    return {"kind": "metadata", "seq": seq, "topic": topic, "ts": ts, "message": body}


def _ping(seq: int, interface: str, ts: float, value) -> dict:
    return {"kind": "background", "seq": seq, "action": f"background-ping.{interface}",
            "name": "rtt_ms", "ts": ts, "value": value}


def upload(client, token: str, records: list[dict], spool: str = "stream-web-1") -> None:
    r = client.post("/api/v1/agent/stream", json={"spool_id": spool, "records": records},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["stored"] == len(records), r.text


@pytest.fixture
def node(browser_client):
    """Node n1 (interfaces op0, op1) with attributes lat/lon, and a token to upload with."""
    token = browser_client.post("/api/v1/node-tokens", json={"node": "n1"}).json()["token"]
    body = {"name": "n1", "interfaces": [{"name": "op0"}, {"name": "op1"}],
            "attributes": {"lat": "10", "lon": "20"}}
    r = browser_client.post("/api/v1/agent/register", json=body,
                            headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return token


def test_gps_goes_before_attributes_and_the_latest_fix_wins(browser_client, node):
    page = browser_client.get("/nodes/n1").text
    assert "10.0000, 20.0000 (from attributes lat/lon)" in page
    upload(browser_client, node, [_message(1, GPS, 200.0, Latitude=59.4, Longitude=13.58),
                                  _message(2, GPS, 100.0, Latitude=1.0, Longitude=1.0),
                                  _message(3, GPS + "X", 300.0, Latitude=2.0, Longitude=2.0)])
    assert "59.4000, 13.5800 (from GPS)" in browser_client.get("/nodes/n1").text
    fleet = browser_client.get("/").text
    assert 'data-node="n1"' in fleet and 'cx="193.58" cy="30.60"' in fleet
    # A fix out of range is no position: the attributes answer again.
    upload(browser_client, node, [_message(4, GPS, 400.0, Latitude=95.0, Longitude=0.0)],
           spool="stream-web-2")
    assert "(from attributes lat/lon)" in browser_client.get("/nodes/n1").text


def test_each_interface_shows_its_modems_latest_update(browser_client, node):
    upload(browser_client, node, [
        _message(1, MODEM.format("8946001"), 100.0, InternalInterface="op0",
                 Operator="Telia", DeviceMode=4, RSSI=-71),
        _message(2, MODEM.format("8946001"), 160.0, InternalInterface="op0",
                 Operator="Telia", DeviceMode=5, RSSI=-65, RSRP=-97.5),
        _message(3, "MONROE.META.DEVICE.MODEM.8946001.STATE", 170.0,
                 InternalInterface="op0", Operator="stale"),
    ])
    page = browser_client.get("/nodes/n1").text
    row = page[page.index('data-interface="op0"'):page.index('data-interface="op1"')]
    for text in ('"operator">Telia<', '"technology">LTE<', '"rssi">-65 dBm<',
                 '"rsrp">-97.5 dBm<'):
        assert text in row, row
    assert "no modem metadata" in page[page.index('data-interface="op1"'):]


def test_sensor_charts_are_bucketed_over_the_range(browser_client, node):
    cpu = [_message(i + 1, "MONROE.META.NODE.SENSOR.cpu", 1000.0 + i, idle=float(i % 2) * 10,
                    iowait=1.0) for i in range(100)]
    memory = [_message(200, "MONROE.META.NODE.SENSOR.memory", 1010.0, apps=2_000_000_000,
                       total=4_000_000_000)]
    upload(browser_client, node, cpu + memory)
    r = browser_client.get("/ui/nodes/n1/sensors/cpu",
                           params={"since": 1000, "until": 1100, "points": 10})
    data = r.json()
    assert r.status_code == 200 and data["count"] == 100 and len(data["ts"]) == 10
    assert data["series"]["busy %"] == [pytest.approx(95.0)] * 10  # idle 0 and 10: 5
    assert data["series"]["iowait %"] == [1.0] * 10
    mem = browser_client.get("/ui/nodes/n1/sensors/memory?since=1000&until=1100").json()
    assert mem["series"] == {"used GB": [2.0], "total GB": [4.0]}
    assert browser_client.get("/ui/nodes/n1/sensors/disk").status_code == 422
    assert browser_client.get("/ui/nodes/n1/sensors/cpu?since=9&until=9").status_code == 422


def test_node_events_are_listed_with_executions(browser_client, node):
    upload(browser_client, node, [_message(1, "MONROE.META.NODE.EVENT", 5000.0,
                                           EventType="Watchdog.Failed", Message="disk full")])
    execution_with(browser_client, [1.0], node="n1")
    events = browser_client.get("/nodes/n1").text.split('id="events"')[1]
    assert "Watchdog.Failed" in events and "disk full" in events
    assert events.index('class="execution"') < events.index("Watchdog.Failed")  # newest first


def test_background_rtt_per_interface_downsampled(browser_client, node):
    records = [_ping(i + 1, "op0", 1000.0 + i, float(i % 10)) for i in range(200)]
    records += [_ping(300 + i, "op1", 1000.0 + 2 * i, 50.0) for i in range(50)]
    records += [_ping(400, "op1", 1001.0, None)]  # a lost request: no value to chart
    upload(browser_client, node, records)
    execution_with(browser_client, [999.0], node="n1", ts0=1050.0)  # not background: left out
    r = browser_client.get("/ui/nodes/n1/rtt", params={"since": 1000, "until": 1200,
                                                       "points": 20})
    series = r.json()["series"]
    assert r.status_code == 200 and sorted(series) == ["op0", "op1"]
    assert series["op0"]["count"] == 200 and len(series["op0"]["ts"]) <= 21
    assert min(series["op0"]["min"]) == 0 and max(series["op0"]["max"]) == 9
    assert series["op1"]["count"] == 50 and set(series["op1"]["mean"]) == {50.0}
    part = browser_client.get("/ui/nodes/n1/rtt", params={"since": 1100, "until": 1150}).json()
    assert part["series"]["op0"]["count"] == 50
    # Background results belong to the fleet: another user sees them too.
    eve = user_token(browser_client, "eve")
    browser_client.cookies.set(COOKIE, eve)
    seen = browser_client.get("/ui/nodes/n1/rtt", params={"since": 1000, "until": 1200}).json()
    assert seen["series"]["op0"]["count"] == 200
    assert browser_client.get("/ui/nodes/nope/rtt").status_code == 404


def test_a_node_without_metadata_still_renders(browser_client):
    enrol(browser_client, "n2")
    page = browser_client.get("/nodes/n2").text
    assert "no modem metadata" in page and 'id="sensor-cpu"' in page
