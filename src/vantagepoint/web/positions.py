"""Where a node is on the fleet map: the first source that knows wins.

First the latest ``MONROE.META.DEVICE.GPS`` message of the node (its
``Latitude`` and ``Longitude``), then the node's attributes ``lat`` and ``lon``
(set with ``vantage agent --attr lat=59.33 --attr lon=18.07``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from vantagepoint.web.node_meta import gps_fix
from vantagepoint.wire import NodeOut

Position = tuple[float, float]  # (latitude, longitude) in degrees
PositionSource = Callable[[Session, NodeOut], Position | None]


def checked(lat: Any, lon: Any) -> Position | None:
    """Both as numbers in range, or None."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def from_gps(db: Session, node: NodeOut) -> Position | None:
    """The latest GPS message's ``Latitude``/``Longitude``."""
    fix = gps_fix(db, node.name)
    return None if fix is None else checked(*fix)


def from_attributes(_: Session, node: NodeOut) -> Position | None:
    """``lat``/``lon`` attributes, if both are numbers in range."""
    return checked(node.attributes.get("lat"), node.attributes.get("lon"))


SOURCES: list[PositionSource] = [from_gps, from_attributes]
LABELS = {from_gps: "GPS", from_attributes: "attributes lat/lon"}


def located(db: Session, node: NodeOut) -> tuple[Position, str] | None:
    """The position and the name of the source that gave it."""
    for source in SOURCES:
        found = source(db, node)
        if found is not None:
            return found, LABELS.get(source, source.__name__)
    return None


def position(db: Session, node: NodeOut) -> Position | None:
    found = located(db, node)
    return None if found is None else found[0]
