"""What a node's metadata bus said, for its page: modems, sensors, events, GPS.

Reads the stored bus messages (``core.metadata``) with the (node, topic, ts)
index: the latest GPS fix, the latest UPDATE of every
modem, and sensor readings over a range reduced to at most ``points`` buckets
(sensor fields live inside JSON, so the reduction happens here, over a capped
number of rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vantagepoint.bus.message import GPS, MODEM, NODE_EVENT, sensor_topic
from vantagepoint.core.analysis.kml import TECHNOLOGY
from vantagepoint.core.metadata import prefix_end
from vantagepoint.core.store.models import MetadataEntry

MODEM_PREFIX = MODEM + "."
UPDATE = ".UPDATE"
MAX_SENSOR_ROWS = 50_000  # a week of one reading every 12 s
def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _scaled(value: Any, by: float) -> float | None:
    number = _num(value)
    return None if number is None else number / by


def _cpu(message: dict) -> dict[str, float | None]:
    idle = _num(message.get("idle"))
    return {"busy %": None if idle is None else 100.0 - idle,
            "iowait %": _num(message.get("iowait"))}


def _memory(message: dict) -> dict[str, float | None]:
    return {"used GB": _scaled(message.get("apps"), 1e9),
            "total GB": _scaled(message.get("total"), 1e9)}


# The figures each sensor chart shows, read from its message.
SENSORS = {"cpu": _cpu, "memory": _memory}


def _exactly(node: str, topic: str):
    """One topic: the (node, topic, ts) index serves the time range and the order."""
    return MetadataEntry.node_name == node, MetadataEntry.topic == topic


def _under(node: str, prefix: str):
    return (MetadataEntry.node_name == node, MetadataEntry.topic >= prefix,
            MetadataEntry.topic < prefix_end(prefix))


def gps_fix(db: Session, node: str) -> tuple[Any, Any] | None:
    """Latitude and longitude of the node's latest GPS message, unchecked."""
    found = db.scalar(select(MetadataEntry).where(*_exactly(node, GPS))
                      .order_by(MetadataEntry.ts.desc(), MetadataEntry.id.desc()).limit(1))
    if found is None:
        return None
    return found.message.get("Latitude"), found.message.get("Longitude")


@dataclass(frozen=True)
class Modem:
    """An interface's latest modem UPDATE, in the words the node page uses."""

    interface: str
    operator: str | None
    technology: str
    rssi: float | None
    rsrp: float | None
    ts: float


def modems(db: Session, node: str) -> dict[str, Modem]:
    """Interface name -> its modem's latest UPDATE."""
    newest = (select(func.max(MetadataEntry.id)).where(*_under(node, MODEM_PREFIX),
                                                       MetadataEntry.topic.like("%" + UPDATE))
              .group_by(MetadataEntry.topic))
    rows = db.scalars(select(MetadataEntry).where(MetadataEntry.id.in_(newest))
                      .order_by(MetadataEntry.id))
    found = {}
    for row in rows:
        m = row.message
        name = str(m.get("InternalInterface") or m.get("InterfaceName")
                   or row.topic.removeprefix(MODEM_PREFIX).removesuffix(UPDATE))
        found[name] = Modem(name, m.get("Operator"), TECHNOLOGY.get(m.get("DeviceMode"),
                                                                    "unknown"),
                            _num(m.get("RSSI")), _num(m.get("RSRP")), row.ts)
    return found


def events(db: Session, node: str, limit: int) -> list[MetadataEntry]:
    """The node's newest events (agent started, watchdog findings, ...), newest first."""
    return list(db.scalars(select(MetadataEntry).where(*_exactly(node, NODE_EVENT))
                           .order_by(MetadataEntry.ts.desc()).limit(limit)))


def sensor_series(db: Session, node: str, kind: str, since: float, until: float,
                  points: int) -> dict[str, Any]:
    """Mean of each figure of one sensor per bucket of ``[since, until)``."""
    figures = SENSORS[kind]
    rows = db.execute(select(MetadataEntry.ts, MetadataEntry.message)
                      .where(*_exactly(node, sensor_topic(kind)), MetadataEntry.ts >= since,
                             MetadataEntry.ts < until)
                      .order_by(MetadataEntry.ts.desc()).limit(MAX_SENSOR_ROWS)).all()
    width = (until - since) / points
    buckets: dict[int, list[tuple[float, dict]]] = {}
    for ts, message in rows:
        buckets.setdefault(int((ts - since) // width), []).append((ts, figures(message)))
    out: dict[str, Any] = {"ts": [], "series": {}, "count": len(rows)}
    for index in sorted(buckets):
        readings = buckets[index]
        out["ts"].append(min(ts for ts, _ in readings))
        for name in readings[0][1]:
            values = [f[name] for _, f in readings if f.get(name) is not None]
            out["series"].setdefault(name, []).append(
                round(sum(values) / len(values), 3) if values else None)
    return out
