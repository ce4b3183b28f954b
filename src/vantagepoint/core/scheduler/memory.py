"""An in-memory calendar: bookings per node kept sorted by start, searched by bisection."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta
from operator import attrgetter

from vantagepoint.core.scheduler.model import Booking, NodeInfo, Span

DEFAULT_MAX_LENGTH = timedelta(hours=24, minutes=1)
_START = attrgetter("span.start")
ZERO = timedelta(0)


class MemoryCalendar:
    """A CalendarView held in memory; no booking may be longer than ``max_length``."""

    def __init__(self, max_length: timedelta = DEFAULT_MAX_LENGTH,
                 nodes: Iterable[NodeInfo] = (), bookings: Iterable[Booking] = ()):
        self.max_length = max_length
        self._nodes: dict[str, NodeInfo] = {}
        self._starts: dict[str, list[datetime]] = {}
        self._bookings: dict[str, list[Booking]] = {}
        self._longest: dict[str, timedelta] = {}  # per node: its longest booking held
        for info in nodes:
            self.add_node(info)
        self.add_all(bookings)

    def add_node(self, info: NodeInfo) -> None:
        """Register (or replace) a node."""
        self._nodes[info.name] = info

    def add(self, booking: Booking) -> None:
        """Insert one booking in start order."""
        self.add_all([booking])

    def add_all(self, bookings: Iterable[Booking]) -> None:
        """Insert many bookings, merging each node's new ones into its ordered list."""
        by_node: dict[str, list[Booking]] = {}
        for booking in bookings:
            by_node.setdefault(booking.node, []).append(booking)
        longest = {node: max(b.span.end - b.span.start for b in new)
                   for node, new in by_node.items()}
        for node, length in longest.items():  # refuse before adding anything
            if length > self.max_length:
                self._check_length(max(by_node[node], key=lambda b: b.span.end - b.span.start))
        for node, new in by_node.items():
            new.sort(key=_START)
            self._merge(node, new)
            self._longest[node] = max(longest[node], self._longest.get(node, ZERO))

    def _merge(self, node: str, new: list[Booking]) -> None:
        """Merge sorted ``new`` into the node's lists: linear, and no key calls on the old."""
        starts, held = self._starts.get(node, []), self._bookings.get(node, [])
        merged_starts: list[datetime] = []
        merged: list[Booking] = []
        done = 0
        for booking in new:
            at = bisect_right(starts, booking.span.start, lo=done)
            merged_starts += starts[done:at]
            merged += held[done:at]
            merged_starts.append(booking.span.start)
            merged.append(booking)
            done = at
        self._starts[node] = merged_starts + starts[done:]
        self._bookings[node] = merged + held[done:]

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[Booking]:
        """Bookings on ``node`` overlapping ``span`` widened by ``padding`` each side."""
        starts = self._starts.get(node)
        if not starts:
            return []
        earliest = span.start - padding  # a booking must end after this...
        # ...so it starts after this, given the longest booking this node holds
        low = bisect_left(starts, earliest - self._longest[node])
        high = bisect_left(starts, span.end + padding)  # ...and start before this
        if low == high:
            return []
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
