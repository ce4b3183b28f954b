"""Policy ``exclusive``: one booking per node at a time, padding around it; shared beside shared."""

from __future__ import annotations

from datetime import timedelta

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import Booking, CalendarView, Proposal, Refusal
from vantagepoint.core.scheduler.policies import (
    existing,
    holder,
    own_index,
    part,
    seconds_text,
    siblings,
    span_text,
    stamp,
)


class Exclusive:
    """No two bookings of a node within ``padding_seconds`` of each other, unless both shared."""

    name = "exclusive"

    def __init__(self, settings: CoreSettings):
        self.padding = timedelta(seconds=settings.padding_seconds)

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """Refuse every proposed booking too close to another of its node."""
        refusals: list[Refusal] = []
        index = own_index(proposal)
        close = index.close(self.padding)  # only these nodes have own bookings to compare
        for booking in proposal.bookings:
            for other in existing(calendar, booking, self.padding):
                if not _may_share(proposal.shared, booking, other):
                    refusals.append(self._booked(proposal, booking, other))
            for other in siblings(index, booking, self.padding) if booking.node in close else ():
                if not _may_share(proposal.shared, booking, other):
                    refusals.append(self._own(booking, other))
        return refusals

    def _booked(self, proposal: Proposal, booking: Booking, other: Booking) -> Refusal:
        retry = other.span.end + self.padding
        message = (
            f"node {booking.node} is booked by {holder(other)} {span_text(other.span)}"
            f" ({_why(proposal.shared, booking, other)}); {part(booking)} overlaps it or comes"
            f" within the {seconds_text(self.padding)} padding; start at {stamp(retry)}"
            " or later")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=booking.span.start, conflict_schedule=other.schedule_id,
                       retry_after=retry)

    def _own(self, booking: Booking, other: Booking) -> Refusal:
        message = (
            f"{part(booking)} and {part(other)} of this request both book node {booking.node}"
            f" and come within the {seconds_text(self.padding)} padding of each other;"
            " a periodic request needs a period of at least its duration plus the padding")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=other.span.start)


def _may_share(shared: bool, booking: Booking, other: Booking) -> bool:
    """Both sides shared and neither a system booking."""
    return shared and other.shared and not booking.system and not other.system


def _why(shared: bool, booking: Booking, other: Booking) -> str:
    if other.system:
        return "a system booking, never shared"
    if booking.system:
        return "this request is a system booking, never shared"
    if not other.shared:
        return "exclusive"
    return "shared, but this request is exclusive"
