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


_last_index: tuple[Proposal, MemoryCalendar] | None = None


def own_index(proposal: Proposal) -> MemoryCalendar:
    """The proposal's own bookings as a calendar, to find its occurrences that overlap.

    Built once per proposal: every policy asks for it, one after another.
    """
    global _last_index
    last = _last_index
    if last is not None and last[0] is proposal:
        return last[1]
    longest = max((b.span.end - b.span.start for b in proposal.bookings), default=ZERO)
    index = MemoryCalendar(bookings=proposal.bookings, max_length=longest)
    _last_index = (proposal, index)
    return index


def neighbours(index: MemoryCalendar, booking: Booking, padding: timedelta) -> list[Booking]:
    """Every other booking of the same proposal near ``booking``."""
    return [b for b in index.bookings(booking.node, booking.span, padding) if b is not booking]


def siblings(index: MemoryCalendar, booking: Booking, padding: timedelta) -> list[Booking]:
    """The proposal's bookings near ``booking`` that sort after it: each pair seen once."""
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
