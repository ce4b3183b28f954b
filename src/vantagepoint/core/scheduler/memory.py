"""An in-memory calendar: bookings per node kept sorted by start, searched by bisection."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta

from vantagepoint.core.scheduler.model import Booking, NodeInfo, Span

DEFAULT_MAX_LENGTH = timedelta(hours=24, minutes=1)


class MemoryCalendar:
    """A CalendarView held in memory; no booking may be longer than ``max_length``."""

    def __init__(self, max_length: timedelta = DEFAULT_MAX_LENGTH,
                 nodes: Iterable[NodeInfo] = (), bookings: Iterable[Booking] = ()):
        self.max_length = max_length
        self._nodes: dict[str, NodeInfo] = {}
        self._starts: dict[str, list[datetime]] = {}
        self._bookings: dict[str, list[Booking]] = {}
        for info in nodes:
            self.add_node(info)
        self.add_all(bookings)

    def add_node(self, info: NodeInfo) -> None:
        """Register (or replace) a node."""
        self._nodes[info.name] = info

    def add(self, booking: Booking) -> None:
        """Insert one booking in start order."""
        self._check_length(booking)
        starts = self._starts.setdefault(booking.node, [])
        index = bisect_right(starts, booking.span.start)
        starts.insert(index, booking.span.start)
        self._bookings.setdefault(booking.node, []).insert(index, booking)

    def add_all(self, bookings: Iterable[Booking]) -> None:
        """Insert many bookings at once (one sort per node rather than one shift per booking)."""
        touched: set[str] = set()
        for booking in bookings:
            self._check_length(booking)
            self._bookings.setdefault(booking.node, []).append(booking)
            touched.add(booking.node)
        for node in touched:
            ordered = sorted(self._bookings[node], key=lambda b: b.span.start)
            self._bookings[node] = ordered
            self._starts[node] = [b.span.start for b in ordered]

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[Booking]:
        """Bookings on ``node`` overlapping ``span`` widened by ``padding`` each side."""
        starts = self._starts.get(node)
        if not starts:
            return []
        earliest = span.start - padding  # a booking must end after this...
        low = bisect_left(starts, earliest - self.max_length)
        high = bisect_left(starts, span.end + padding)  # ...and start before this
        return [b for b in self._bookings[node][low:high] if b.span.end > earliest]

    def node(self, name: str) -> NodeInfo | None:
        """The node's description, or None if unknown."""
        return self._nodes.get(name)

    def all_bookings(self, node: str) -> list[Booking]:
        """Every booking of ``node`` in start order (a copy)."""
        return list(self._bookings.get(node, ()))

    def _check_length(self, booking: Booking) -> None:
        if booking.span.end - booking.span.start > self.max_length:
            raise ValueError(
                f"booking of node {booking.node} lasts {booking.span.end - booking.span.start},"
                f" longer than this calendar's maximum booking length {self.max_length}")
