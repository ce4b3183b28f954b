"""Policy ``tool-pairs``: pairs of tools (``tool_exclusions``) never run in parallel on a node."""

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

Pair = tuple[str, str]


class ToolPairs:
    """Overlapping bookings of a node may not run two tools of an excluded pair between them."""

    name = "tool-pairs"

    def __init__(self, settings: CoreSettings):
        self.pairs = parse_exclusions(settings.tool_exclusions)

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """Refuse every proposed booking whose tools clash with its own or an overlapping one's."""
        refusals: list[Refusal] = []
        index = own_index(proposal)
        for booking in proposal.bookings if self.pairs else ():
            if clash := self._clashes(booking, booking):
                refusals.append(self._itself(booking, clash))
            for other in existing(calendar, booking, ZERO):
                if clash := self._clashes(booking, other):
                    refusals.append(self._booked(booking, other, clash))
            for other in siblings(index, booking, ZERO):
                if clash := self._clashes(booking, other):
                    refusals.append(self._own(booking, other, clash))
        return refusals

    def _clashes(self, a: Booking, b: Booking) -> list[Pair]:
        """The excluded pairs with one tool in ``a`` and the other in ``b``."""
        mine, theirs = set(a.tools), set(b.tools)
        return [(x, y) for x, y in self.pairs
                if (x in mine and y in theirs) or (y in mine and x in theirs)]

    def _itself(self, booking: Booking, clash: list[Pair]) -> Refusal:
        message = (
            f"{part(booking)} on node {booking.node} runs {_pairs(clash)} together, which never"
            " run in parallel on a node; split them into separate requests")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=booking.span.start)

    def _booked(self, booking: Booking, other: Booking, clash: list[Pair]) -> Refusal:
        message = (
            f"{holder(other)} runs {_tools(other, clash)} on node {booking.node}"
            f" {span_text(other.span)}, and {part(booking)} runs {_tools(booking, clash)};"
            f" {_pairs(clash)} never run in parallel on a node; start at"
            f" {stamp(other.span.end)} or later")
        return against_booked(self.name, booking, other, message)

    def _own(self, booking: Booking, other: Booking, clash: list[Pair]) -> Refusal:
        message = (
            f"{part(booking)} and {part(other)} of this request overlap on node {booking.node}"
            f" and {_pairs(clash)} never run in parallel on a node; a periodic request needs a"
            " period of at least its duration")
        return against_own(self.name, booking, other, message)


def parse_exclusions(groups: list[list[str]]) -> list[Pair]:
    """Every excluded pair, sorted; a group of n tools excludes each of its pairs."""
    pairs: set[Pair] = set()
    for group in groups:
        names = sorted(set(group))
        if len(names) < 2:
            raise ValueError(f"tool_exclusions entry {group!r} must name two different tools")
        pairs.update((x, y) for i, x in enumerate(names) for y in names[i + 1:])
    return sorted(pairs)


def _pairs(clash: list[Pair]) -> str:
    return ", ".join(f"{x} and {y}" for x, y in clash)


def _tools(booking: Booking, clash: list[Pair]) -> str:
    used = sorted({t for pair in clash for t in pair if t in booking.tools})
    return " and ".join(used)
