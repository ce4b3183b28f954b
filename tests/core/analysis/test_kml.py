"""KML builders over bus messages of a simulated bus ride, re-read as XML."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from vantagepoint.core.analysis.kml import (
    GPS_TOPIC,
    KML_NS,
    coverage_kml,
    signal_class,
    track_kml,
)

NS = {"k": KML_NS}
T0 = 1_767_225_600.0
ICCIDS = {"op0": "8946000000000000001", "op1": "8934000000000000002"}


def frame(topic: str, body: dict) -> bytes:
    """One metadata bus frame, ``<topic> <json>``, as the node publishes it."""
    return f"{topic} {json.dumps(body)}".encode()


def parse(frame_bytes: bytes) -> tuple[str, dict]:
    topic, _, body = frame_bytes.decode().partition(" ")
    return topic, json.loads(body)


def ride(seconds: int = 600) -> list[bytes]:
    """A bus ride: a GPS fix every 2 s, each modem's UPDATE every 30 s, LTE fading to 3G."""
    frames, seq = [], 0
    for t in range(0, seconds, 2):
        seq += 1
        frames.append(frame(GPS_TOPIC, {
            "DataId": GPS_TOPIC, "DataVersion": 1, "NodeId": "42", "SequenceNumber": seq,
            "Timestamp": T0 + t, "Latitude": 59.40 + t * 1e-4,
            "Longitude": 17.95 + 0.01 * math.sin(t / 100), "Altitude": 20.0 + t / 60,
            "Speed": 12.5, "SatelliteCount": 8}))
    for t in range(1, seconds, 30):
        for iface, iccid in ICCIDS.items():
            seq += 1
            topic = f"MONROE.META.DEVICE.MODEM.{iccid}.UPDATE"
            lte = iface == "op0" or t < seconds / 2
            frames.append(frame(topic, {
                "DataId": "MONROE.META.DEVICE.MODEM", "DataVersion": 3, "NodeId": "42",
                "SequenceNumber": seq, "Timestamp": T0 + t, "ICCID": iccid,
                "InternalInterface": iface, "Operator": f"Op-{iface}",
                "DeviceMode": 5 if lte else 3, "RSRP": -80 - t / 10 if lte else None,
                "RSSI": -60 - t / 12}))
    frames.append(frame(GPS_TOPIC, {"Timestamp": T0, "Latitude": "bad", "Longitude": 1}))
    return frames


def split(frames):
    messages = [parse(f) for f in frames]
    gps = [m for t, m in messages if t == GPS_TOPIC]
    modem = [(t, m) for t, m in messages if t.startswith("MONROE.META.DEVICE.MODEM.")]
    return gps, modem


def test_track_has_every_valid_fix_in_order():
    gps, _ = split(ride())
    root = ET.fromstring(track_kml("n1", reversed(gps)))
    coords = root.find(".//k:LineString/k:coordinates", NS).text.split()
    want = [f"{m['Longitude']!r},{m['Latitude']!r},{m['Altitude']!r}" for m in gps
            if isinstance(m["Latitude"], float)]
    assert coords == want and len(coords) == 300
    assert root.find(".//k:TimeSpan/k:begin", NS).text == "2026-01-01T00:00:00Z"
    assert root.find(".//k:TimeSpan/k:end", NS).text == "2026-01-01T00:09:58Z"


def _data(mark) -> dict[str, str]:
    return {d.get("name"): d.find("k:value", NS).text for d in mark.findall(".//k:Data", NS)}


def test_coverage_places_each_reading_on_the_track():
    gps, modem = split(ride())
    root = ET.fromstring(coverage_kml("n1", gps, modem))
    folders = {f.find("k:name", NS).text: f for f in root.findall(".//k:Folder", NS)}
    assert sorted(folders) == ["op0", "op1"]
    marks = folders["op1"].findall("k:Placemark", NS)
    assert len(marks) == 20
    readings = [m for _, m in modem if m["InternalInterface"] == "op1"]
    by_time = {g["Timestamp"]: g for g in gps if isinstance(g["Latitude"], float)}
    for mark, message in zip(marks, readings, strict=True):
        data = _data(mark)
        lte = message["DeviceMode"] == 5
        dbm = message["RSRP"] if lte else message["RSSI"]
        assert data["technology"] == ("LTE" if lte else "3G")
        assert float(data["signal_dbm"]) == dbm and data["ICCID"] == ICCIDS["op1"]
        assert mark.find("k:styleUrl", NS).text == f"#signal-{signal_class(dbm)[0]}"
        fix = by_time[message["Timestamp"] - 1]  # the fix 1 s before is as close as after
        lon, lat, _ = map(float, mark.find(".//k:Point/k:coordinates", NS).text.split(","))
        assert (lat, lon) in {(fix["Latitude"], fix["Longitude"]),
                              (by_time[message["Timestamp"] + 1]["Latitude"],
                               by_time[message["Timestamp"] + 1]["Longitude"])}


def test_readings_far_from_any_fix_are_left_out():
    gps, modem = split(ride())
    late = [(t, {**m, "Timestamp": m["Timestamp"] + 3600}) for t, m in modem]
    root = ET.fromstring(coverage_kml("n1", gps, modem[:2] + late))
    assert len(root.findall(".//k:Placemark", NS)) == 2


@pytest.mark.parametrize(("dbm", "name"), [(-70, "good"), (-90, "good"), (-100, "fair"),
                                           (-120, "poor"), (None, "none")])
def test_signal_classes(dbm, name):
    assert signal_class(dbm)[0] == name


def test_text_is_escaped():
    gps, _ = split(ride(10))
    root = ET.fromstring(track_kml("a<b>&c", gps))
    assert root.find(".//k:Placemark/k:name", NS).text == "a<b>&c"


def test_kml_export_reads_the_nodes_metadata(app_client):
    """GET /export/kml/{node}: the track and the coverage from uploaded bus messages."""
    from tests.core.conftest import enrol

    token = enrol(app_client, "n1")
    frames = [f for f in ride(120) if b"SequenceNumber" in f]  # the core refuses the rest
    records = [{"kind": "metadata", "seq": i + 1, "topic": topic, "ts": body["Timestamp"],
                "message": body} for i, (topic, body) in enumerate(map(parse, frames))]
    r = app_client.post("/api/v1/agent/stream", headers={"Authorization": f"Bearer {token}"},
                        json={"spool_id": "stream-0001", "records": records})
    assert r.status_code == 200, r.text
    gps, modem = split(frames)
    track = app_client.get("/api/v1/export/kml/n1")
    assert track.status_code == 200 and "kml" in track.headers["content-type"]
    assert ET.fromstring(track.content).tag.endswith("kml")
    assert track.text == track_kml("n1", gps)
    coverage = app_client.get("/api/v1/export/kml/n1", params={"kind": "coverage"})
    assert coverage.text == coverage_kml("n1", gps, modem)
    assert app_client.get("/api/v1/export/kml/nope").status_code == 404
