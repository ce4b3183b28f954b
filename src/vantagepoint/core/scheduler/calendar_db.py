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


CHUNK = timedelta(days=1)
COLUMNS = (Booking.node_name, Booking.start, Booking.end, Booking.schedule_id,
           Booking.occurrence, Booking.shared, Booking.interfaces, Booking.tools,
           Booking.system)


class DbCalendar:
    """A CalendarView that loads each node's bookings lazily, a day at a time, as asked.

    Searches move forward in time, so only the stretch of the calendar a request
    looks at is read, however many bookings the node has in total.
    """

    def __init__(self, db: Session, window: Span, max_length: timedelta):
        self.db, self.window, self.max_length = db, window, max_length
        self.memory = MemoryCalendar(max_length)
        self._loaded: dict[str, tuple] = {}  # node -> (low, high) of what was read
        self._nodes: dict[str, NodeInfo | None] = {}

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[model.Booking]:
        self._cover(node, span.start - padding - self.max_length, span.end + padding)
        return self.memory.bookings(node, span, padding)

    def node(self, name: str) -> NodeInfo | None:
        if name not in self._nodes:
            row = self.db.scalar(select(Node).where(Node.name == name))
            self._nodes[name] = node_info(row) if row is not None else None
        return self._nodes[name]

    def _cover(self, node: str, low, high) -> None:
        """Make sure bookings starting in ``[low, high)`` are in memory."""
        have = self._loaded.get(node)
        if have is None:
            self._read(node, low, high + CHUNK)
            self._loaded[node] = (low, high + CHUNK)
            return
        lo, hi = have
        if low < lo:
            self._read(node, low, lo)
            lo = low
        if high > hi:
            self._read(node, hi, high + CHUNK)
            hi = high + CHUNK
        self._loaded[node] = (lo, hi)

    def _read(self, node: str, low, high) -> None:
        rows = self.db.execute(select(*COLUMNS).where(
            Booking.node_name == node, Booking.state == ACTIVE,
            Booking.start >= low, Booking.start < high))
        self.memory.add_all(
            model.Booking(node=r.node_name, span=Span(r.start, r.end),
                          schedule_id=r.schedule_id, occurrence=r.occurrence, shared=r.shared,
                          interfaces=tuple(r.interfaces), tools=tuple(r.tools), system=r.system)
            for r in rows)
