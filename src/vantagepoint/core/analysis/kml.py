"""KML of a node's GPS track and of its coverage along the track.

The builders take metadata messages as the node's bus publishes them (dicts
with the common fields ``Timestamp``, ``SequenceNumber``, ``NodeId``):
``MONROE.META.DEVICE.GPS`` messages (``Latitude``, ``Longitude``, optional
``Altitude``, ``Speed``) and ``MONROE.META.DEVICE.MODEM.<ICCID>.UPDATE``
messages (``DeviceMode``, ``RSRP``, ``RSRQ``, ``RSSI``, ``Operator``,
``InternalInterface``...). Malformed messages are skipped, never guessed at.

A modem reading is placed where the node was at its time: at the GPS fix
closest in time, if one lies within ``max_gap`` seconds.
"""

from __future__ import annotations

import bisect
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

KML_NS = "http://www.opengis.net/kml/2.2"
GPS_TOPIC = "MONROE.META.DEVICE.GPS"
MODEM_PREFIX = "MONROE.META.DEVICE.MODEM."
# DeviceMode as the modem metadata reports it (5 = LTE).
TECHNOLOGY = {0: "unknown", 1: "no service", 2: "2G", 3: "3G", 4: "3G+", 5: "LTE"}
# Signal classes by dBm (RSRP for LTE, RSSI otherwise): colour aabbggrr.
CLASSES = (("good", -90.0, "ff00c000"), ("fair", -105.0, "ff00c0ff"),
           ("poor", -math.inf, "ff0000ff"))
NO_SIGNAL = ("none", "ff808080")
MODEM_FIELDS = ("Operator", "InternalInterface", "InterfaceName", "ICCID", "DeviceMode",
                "RSRP", "RSRQ", "RSSI", "RSCP", "ECIO", "Band", "Frequency", "CID")

ET.register_namespace("", KML_NS)


@dataclass(frozen=True)
class Fix:
    ts: float
    lat: float
    lon: float
    alt: float

    def coordinates(self) -> str:
        return f"{self.lon!r},{self.lat!r},{self.alt!r}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def seconds(stamp: Any) -> float | None:
    """Epoch seconds from a message ``Timestamp`` (seconds; microseconds when huge)."""
    value = _number(stamp)
    if value is None:
        return None
    return value / 1e6 if value > 1e14 else value


def fixes(messages: Iterable[dict[str, Any]]) -> list[Fix]:
    """The valid GPS fixes, in time order."""
    found = []
    for m in messages:
        ts, lat, lon = seconds(m.get("Timestamp")), _number(m.get("Latitude")), \
            _number(m.get("Longitude"))
        if ts is None or lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
            continue
        found.append(Fix(ts, lat, lon, _number(m.get("Altitude")) or 0.0))
    return sorted(found, key=lambda f: f.ts)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    element = ET.SubElement(parent, f"{{{KML_NS}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _document(name: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _el(root, "Document")
    _el(doc, "name", name)
    return root, doc


def _serialize(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def track_kml(node: str, gps: Iterable[dict[str, Any]]) -> str:
    """A KML document with the node's track as one time-spanned LineString."""
    track = fixes(gps)
    root, doc = _document(f"{node} GPS track")
    mark = _el(doc, "Placemark")
    _el(mark, "name", node)
    if track:
        span = _el(mark, "TimeSpan")
        _el(span, "begin", _iso(track[0].ts))
        _el(span, "end", _iso(track[-1].ts))
    line = _el(mark, "LineString")
    _el(line, "altitudeMode", "absolute")
    _el(line, "coordinates", " ".join(f.coordinates() for f in track))
    return _serialize(root)


def signal_dbm(message: dict[str, Any]) -> float | None:
    """RSRP on LTE, else RSSI (else RSCP), in dBm; None without a reading."""
    order = ("RSRP", "RSSI", "RSCP") if message.get("DeviceMode") == 5 else ("RSSI", "RSCP")
    for name in order:
        value = _number(message.get(name))
        if value is not None:
            return value
    return None


def signal_class(dbm: float | None) -> tuple[str, str]:
    """(class name, KML colour) of a signal strength."""
    if dbm is None:
        return NO_SIGNAL
    return next((name, colour) for name, floor, colour in CLASSES if dbm >= floor)


def position_at(track: list[Fix], stamps: list[float], ts: float,
                max_gap: float) -> Fix | None:
    """The fix closest in time to ``ts`` (``stamps``: the track's times), if within
    ``max_gap`` seconds."""
    i = bisect.bisect_left(stamps, ts)
    near = [f for f in track[max(i - 1, 0):i + 1] if abs(f.ts - ts) <= max_gap]
    return min(near, key=lambda f: abs(f.ts - ts), default=None)


def _interface(topic: str, message: dict[str, Any]) -> str:
    iccid = topic.removeprefix(MODEM_PREFIX).split(".")[0]
    return str(message.get("InternalInterface") or message.get("InterfaceName") or iccid)


def _styles(doc: ET.Element) -> None:
    for name, colour in [(n, c) for n, _, c in CLASSES] + [NO_SIGNAL]:
        style = _el(doc, "Style", id=f"signal-{name}")
        icon = _el(style, "IconStyle")
        _el(icon, "color", colour)
        _el(_el(icon, "Icon"), "href",
            "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png")


def _reading(folder: ET.Element, message: dict[str, Any], at: Fix) -> None:
    technology = TECHNOLOGY.get(message.get("DeviceMode"), "unknown")
    dbm = signal_dbm(message)
    mark = _el(folder, "Placemark")
    _el(mark, "name", technology + ("" if dbm is None else f" {dbm:g} dBm"))
    _el(mark, "styleUrl", f"#signal-{signal_class(dbm)[0]}")
    _el(_el(mark, "TimeStamp"), "when", _iso(seconds(message["Timestamp"])))
    data = _el(mark, "ExtendedData")
    fields = {"technology": technology, "signal_dbm": dbm,
              **{k: message.get(k) for k in MODEM_FIELDS if message.get(k) is not None}}
    for key, value in fields.items():
        _el(_el(data, "Data", name=key), "value", "" if value is None else str(value))
    _el(_el(mark, "Point"), "coordinates", at.coordinates())


def coverage_kml(node: str, gps: Iterable[dict[str, Any]],
                 modem: Iterable[tuple[str, dict[str, Any]]], max_gap: float = 30.0) -> str:
    """A KML document: per interface, one point per modem reading placed on the track,
    named and coloured by technology and signal strength.

    ``modem`` holds (topic, message) pairs, the topic naming the ICCID.
    """
    track = fixes(gps)
    stamps = [f.ts for f in track]
    root, doc = _document(f"{node} coverage")
    _styles(doc)
    folders: dict[str, ET.Element] = {}
    readings = [(seconds(m.get("Timestamp")), t, m) for t, m in modem]
    for ts, topic, message in sorted((r for r in readings if r[0] is not None),
                                     key=lambda r: r[0]):
        at = position_at(track, stamps, ts, max_gap)
        if at is None:
            continue
        name = _interface(topic, message)
        if name not in folders:
            folders[name] = _el(doc, "Folder")
            _el(folders[name], "name", name)
        _reading(folders[name], message, at)
    return _serialize(root)
