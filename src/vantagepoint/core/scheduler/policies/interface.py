"""Policy ``interface``: at most one active execution per measurement interface of a node."""

from __future__ import annotations

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import Booking, CalendarView, Proposal, Refusal
from vantagepoint.core.scheduler.policies import (
    ZERO,
    against_booked,
    against_own,
    existing,
    holder,
    own_index,
    part,
    siblings,
    span_text,
    stamp,
)

DEFAULT = "default"  # what a booking without named interfaces uses: the node's default route


class Interface:
    """Two overlapping bookings of a node may not use a common interface (shared ones too)."""

    name = "interface"

    def __init__(self, settings: CoreSettings):
        self.settings = settings

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """Refuse every proposed booking measuring on an interface already in use."""
        refusals: list[Refusal] = []
        index = own_index(proposal)
        close = index.close(ZERO)  # only these nodes have own bookings to compare
        for booking in proposal.bookings:
            for other in existing(calendar, booking, ZERO):
                if common := _common(booking, other):
                    refusals.append(self._booked(booking, other, common))
            for other in siblings(index, booking, ZERO) if booking.node in close else ():
                if common := _common(booking, other):
                    refusals.append(self._own(booking, other, common))
        return refusals

    def _booked(self, booking: Booking, other: Booking, common: list[str]) -> Refusal:
        message = (
            f"{_names(common)} of node {booking.node} {_is(common)} used by {holder(other)}"
            f" {span_text(other.span)}; {part(booking)} would measure on {_it(common)} at the"
            f" same time; start at {stamp(other.span.end)} or later, or use another interface")
        return against_booked(self.name, booking, other, message)

    def _own(self, booking: Booking, other: Booking, common: list[str]) -> Refusal:
        message = (
            f"{part(booking)} and {part(other)} of this request overlap on node {booking.node}"
            f" and both measure on {_names(common)}; a periodic request needs a period of at"
            " least its duration")
        return against_own(self.name, booking, other, message)


def interfaces_of(booking: Booking) -> frozenset[str]:
    """The interfaces a booking measures on; none named means the default route."""
    return frozenset(booking.interfaces or (DEFAULT,))


def _common(a: Booking, b: Booking) -> list[str]:
    return sorted(interfaces_of(a) & interfaces_of(b))


def _names(common: list[str]) -> str:
    if len(common) == 1:
        return f"interface {common[0]}"
    return "interfaces " + ", ".join(common)


def _is(common: list[str]) -> str:
    return "is" if len(common) == 1 else "are"


def _it(common: list[str]) -> str:
    return "it" if len(common) == 1 else "them"
