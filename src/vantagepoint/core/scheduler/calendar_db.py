"""The calendar as stored: nodes and bookings loaded per node for one allocation window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.scheduler import model
from vantagepoint.core.scheduler.memory import MemoryCalendar
from vantagepoint.core.scheduler.model import NodeInfo, Span
from vantagepoint.core.store.models import Booking, Node

ACTIVE = "reserved"


def node_info(node: Node) -> NodeInfo:
    return NodeInfo(name=node.name, attributes=dict(node.attributes),
                    interfaces=tuple(i["name"] for i in node.interfaces), status=node.status)


def booking_view(row: Booking) -> model.Booking:
    return model.Booking(node=row.node_name, span=Span(row.start, row.end),
                         schedule_id=row.schedule_id, occurrence=row.occurrence,
                         shared=row.shared, interfaces=tuple(row.interfaces),
                         tools=tuple(row.tools), system=row.system)


class DbCalendar:
    """A CalendarView that loads each node's bookings in ``window`` once, on first use."""

    def __init__(self, db: Session, window: Span, max_length: timedelta):
        self.db, self.window, self.max_length = db, window, max_length
        self.memory = MemoryCalendar(max_length)
        self._loaded: set[str] = set()
        self._nodes: dict[str, NodeInfo | None] = {}

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[model.Booking]:
        self._load(node)
        return self.memory.bookings(node, span, padding)

    def node(self, name: str) -> NodeInfo | None:
        if name not in self._nodes:
            row = self.db.scalar(select(Node).where(Node.name == name))
            self._nodes[name] = node_info(row) if row is not None else None
        return self._nodes[name]

    def _load(self, node: str) -> None:
        if node in self._loaded:
            return
        self._loaded.add(node)
        low = self.window.start - self.max_length
        rows = self.db.scalars(select(Booking).where(
            Booking.node_name == node, Booking.state == ACTIVE,
            Booking.start >= low, Booking.start < self.window.end))
        for row in rows:
            self.memory.add(booking_view(row))
