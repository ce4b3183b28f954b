"""Where a node is on the fleet map: the first source that knows wins.

Today the only source is the node's attributes ``lat`` and ``lon`` (set with
``vantage agent --attr lat=59.33 --attr lon=18.07``). A GPS metadata source
goes first in ``SOURCES`` once the metadata API exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sqlalchemy.orm import Session

from vantagepoint.wire import NodeOut

Position = tuple[float, float]  # (latitude, longitude) in degrees
PositionSource = Callable[[Session, NodeOut], Position | None]


def from_attributes(_: Session, node: NodeOut) -> Position | None:
    """``lat``/``lon`` attributes, if both are numbers in range."""
    try:
        lat, lon = float(node.attributes["lat"]), float(node.attributes["lon"])
    except (KeyError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


SOURCES: list[PositionSource] = [from_attributes]


def position(db: Session, node: NodeOut) -> Position | None:
    for source in SOURCES:
        found = source(db, node)
        if found is not None:
            return found
    return None
