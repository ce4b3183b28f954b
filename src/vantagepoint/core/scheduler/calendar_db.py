"""The calendar as stored: nodes read per request, bookings through the process's cache."""

from __future__ import annotations

import functools
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.scheduler import model
from vantagepoint.core.scheduler.calendar_cache import CalendarCache
from vantagepoint.core.scheduler.model import NodeInfo, Span
from vantagepoint.core.store.models import Node


def node_info(node: Node) -> NodeInfo:
    return NodeInfo(name=node.name, attributes=dict(node.attributes),
                    interfaces=tuple(i["name"] for i in node.interfaces), status=node.status)


class DbCalendar:
    """A CalendarView over the store for one request (whose transaction holds the lock).

    Node descriptions are read fresh (their state matters to policies); bookings come
    from the cache, which reads each node's calendar lazily, a stretch at a time.
    """

    def __init__(self, db: Session, cache: CalendarCache):
        self.db, self.cache = db, cache
        self._nodes: dict[str, NodeInfo | None] = {}
        # The method below, bound straight to the cache: one Python call less per question.
        self.bookings = functools.partial(cache.bookings, db)

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[model.Booking]:
        return self.cache.bookings(self.db, node, span, padding)

    def node(self, name: str) -> NodeInfo | None:
        if name not in self._nodes:
            row = self.db.scalar(select(Node).where(Node.name == name))
            self._nodes[name] = node_info(row) if row is not None else None
        return self._nodes[name]
