"""Built-in scheduling policies and the small helpers they share.

Each policy lives in its own module and is registered in the ``vantagepoint.policies``
entry-point group, exactly as a third-party policy would be. A refusal's ``retry_after``
is a safe lower bound: no start of the same booking earlier than it can pass that
refusal; ``None`` means moving the start alone cannot fix it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vantagepoint.core.scheduler.memory import MemoryCalendar
from vantagepoint.core.scheduler.model import Booking, CalendarView, Proposal, Refusal, Span

ZERO = timedelta(0)


def stamp(moment: datetime) -> str:
    """A moment as compact ISO 8601 UTC, e.g. ``2026-12-01T12:00Z``."""
    utc = moment.astimezone(UTC)
    if utc.second or utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    return utc.strftime("%Y-%m-%dT%H:%MZ")


def span_text(span: Span) -> str:
    """``from <start> to <end>``."""
    return f"from {stamp(span.start)} to {stamp(span.end)}"


def seconds_text(delta: timedelta) -> str:
    """A duration in seconds, without a needless ``.0``."""
    return f"{delta.total_seconds():g} s"


def holder(booking: Booking) -> str:
    """Who holds an existing booking, e.g. ``schedule 12``."""
    kind = "system schedule" if booking.system else "schedule"
    if booking.schedule_id is None:
        return f"an unsaved {kind}"
    return f"{kind} {booking.schedule_id}"


def part(booking: Booking) -> str:
    """A proposed booking as a person reads it, e.g. ``occurrence 3 (from .. to ..)``."""
    return f"occurrence {booking.occurrence} ({span_text(booking.span)})"


def existing(calendar: CalendarView, booking: Booking, padding: timedelta) -> list[Booking]:
    """Calendar bookings near ``booking``, leaving out older versions of its own schedule."""
    found = calendar.bookings(booking.node, booking.span, padding)
    if booking.schedule_id is None:
        return found
    return [b for b in found if b.schedule_id != booking.schedule_id]


class OwnIndex:
    """The proposal's own bookings, to find its occurrences that come close to each other.

    Most proposals keep each node's bookings apart (a period longer than the duration
    plus the padding); the smallest gap per node answers those without a search, and
    the searchable calendar is only built when some node's bookings come closer.
    """

    def __init__(self, proposal: Proposal):
        self._proposal = proposal
        self._index: MemoryCalendar | None = None
        self._gaps = _smallest_gaps(proposal.bookings)

    def apart(self, node: str, padding: timedelta) -> bool:
        """True if no two of the node's bookings come within ``padding`` of each other."""
        gap = self._gaps.get(node)
        return gap is None or gap >= padding

    def close(self, padding: timedelta) -> set[str]:
        """The nodes some of whose bookings come within ``padding`` of each other."""
        return {node for node, gap in self._gaps.items() if gap is not None and gap < padding}

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[Booking]:
        """The proposal's bookings on ``node`` overlapping ``span`` widened by ``padding``."""
        if self._index is None:
            bookings = self._proposal.bookings
            longest = max((b.span.end - b.span.start for b in bookings), default=ZERO)
            self._index = MemoryCalendar(bookings=bookings, max_length=longest)
        return self._index.bookings(node, span, padding)


def _smallest_gaps(bookings: tuple[Booking, ...]) -> dict[str, timedelta | None]:
    """Per node, the smallest start-after-latest-end gap between its bookings in start order."""
    by_node: dict[str, list[Span]] = {}
    for booking in bookings:
        by_node.setdefault(booking.node, []).append(booking.span)
    gaps: dict[str, timedelta | None] = {}
    known: dict[tuple[Span, ...], timedelta | None] = {}  # nodes often share their spans
    for node, spans in by_node.items():
        key = tuple(spans)
        if key in known:
            gaps[node] = known[key]
            continue
        spans.sort()
        smallest, latest = None, spans[0].end
        for span in spans[1:]:
            gap = span.start - latest
            if smallest is None or gap < smallest:
                smallest = gap
            if span.end > latest:
                latest = span.end
        gaps[node] = known[key] = smallest
    return gaps


_last_index: tuple[Proposal, OwnIndex] | None = None


def own_index(proposal: Proposal) -> OwnIndex:
    """The proposal's own bookings as an index; built once per proposal, as every policy asks."""
    global _last_index
    last = _last_index
    if last is not None and last[0] is proposal:
        return last[1]
    index = OwnIndex(proposal)
    _last_index = (proposal, index)
    return index


def neighbours(index: OwnIndex, booking: Booking, padding: timedelta) -> list[Booking]:
    """Every other booking of the same proposal near ``booking``."""
    if index.apart(booking.node, padding):
        return []
    return [b for b in index.bookings(booking.node, booking.span, padding) if b is not booking]


def siblings(index: OwnIndex, booking: Booking, padding: timedelta) -> list[Booking]:
    """The proposal's bookings near ``booking`` that sort after it: each pair seen once."""
    if index.apart(booking.node, padding):
        return []
    return [b for b in neighbours(index, booking, padding) if _after(b, booking)]


def _after(a: Booking, b: Booking) -> bool:
    return (a.span.start, a.occurrence, id(a)) > (b.span.start, b.occurrence, id(b))


def against_booked(policy: str, booking: Booking, other: Booking, message: str) -> Refusal:
    """A refusal because ``booking`` overlaps ``other``, held by another schedule."""
    return Refusal(policy, message, node=booking.node, occurrence=booking.occurrence,
                   at=max(booking.span.start, other.span.start),
                   conflict_schedule=other.schedule_id, retry_after=other.span.end)


def against_own(policy: str, booking: Booking, other: Booking, message: str) -> Refusal:
    """A refusal because two bookings of the same request overlap."""
    return Refusal(policy, message, node=booking.node, occurrence=booking.occurrence,
                   at=other.span.start)
