"""Policy ``tool-instances``: at most N instances of a tool (``tool_max_instances``) per node.

The count is the true maximum concurrency: a sweep over the start and end moments of the
bookings overlapping the proposed one, not a sum over every booking that touches its span.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import Booking, CalendarView, Proposal, Refusal, Span
from vantagepoint.core.scheduler.policies import (
    ZERO,
    existing,
    holder,
    neighbours,
    own_index,
    part,
    span_text,
    stamp,
)


class ToolInstances:
    """At any moment a node runs at most ``tool_max_instances[tool]`` instances of the tool."""

    name = "tool-instances"

    def __init__(self, settings: CoreSettings):
        self.limits = dict(settings.tool_max_instances)
        for tool, limit in self.limits.items():
            if limit < 0:
                raise ValueError(f"tool_max_instances[{tool!r}] is {limit}; it must be 0 or more")

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """Refuse every proposed booking that would push a tool over its limit on its node."""
        refusals: list[Refusal] = []
        if not self.limits:
            return refusals
        index = own_index(proposal)
        for booking in proposal.bookings:
            limited = sorted(t for t in set(booking.tools) if t in self.limits)
            if not limited:
                continue
            outside = existing(calendar, booking, ZERO)
            inside = neighbours(index, booking, ZERO)
            for tool in limited:
                if refusal := self._check_tool(booking, tool, outside, inside):
                    refusals.append(refusal)
        return refusals

    def _check_tool(self, booking: Booking, tool: str, outside: list[Booking],
                    inside: list[Booking]) -> Refusal | None:
        limit, own = self.limits[tool], booking.tools.count(tool)
        if own > limit:
            return self._alone(booking, tool, own)
        stretch = first_excess(booking.span, outside + inside, tool, limit - own)
        if stretch is None:
            return None
        at, until = stretch
        active = [b for b in outside + inside
                  if tool in b.tools and b.span.start <= at < b.span.end]
        if any(b is mine for b in active for mine in inside):
            return self._own(booking, tool, at, active, inside)
        return self._booked(booking, tool, at, until, active)

    def _alone(self, booking: Booking, tool: str, own: int) -> Refusal:
        message = (
            f"{part(booking)} on node {booking.node} runs {own} instances of tool {tool}, more"
            f" than the {self.limits[tool]} allowed at once on a node; run fewer instances")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=booking.span.start)

    def _booked(self, booking: Booking, tool: str, at: datetime, until: datetime,
                active: list[Booking]) -> Refusal:
        named = [b for b in active if b.schedule_id is not None]
        message = (
            f"tool {tool} may run at most {self.limits[tool]} instance(s) at once on a node;"
            f" at {stamp(at)} node {booking.node} already runs {_running(active, tool)}, and"
            f" {part(booking)} would add {booking.tools.count(tool)}; start at {stamp(until)}"
            " or later")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=at, conflict_schedule=named[0].schedule_id if named else None,
                       retry_after=until)

    def _own(self, booking: Booking, tool: str, at: datetime, active: list[Booking],
             inside: list[Booking]) -> Refusal:
        message = (
            f"tool {tool} may run at most {self.limits[tool]} instance(s) at once on a node;"
            f" at {stamp(at)} node {booking.node} would run {_running(active, tool, inside)}"
            " beside"
            f" {part(booking)}, counting overlapping occurrences of this request; a periodic"
            " request needs a period of at least its duration")
        named = [b for b in active if b.schedule_id is not None]
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=at, conflict_schedule=named[0].schedule_id if named else None)


def first_excess(span: Span, others: list[Booking], tool: str,
                 room: int) -> tuple[datetime, datetime] | None:
    """The first stretch ``[at, until)`` of ``span`` where ``others`` run over ``room`` of tool."""
    events = sorted(_events(span, others, tool))  # at one moment, ends (negative) sort first
    running, start = 0, None
    for i, (moment, delta) in enumerate(events):
        running += delta
        if i + 1 < len(events) and events[i + 1][0] == moment:
            continue
        if start is None and running > room:
            start = moment
        elif start is not None and running <= room:
            return start, moment
    return None if start is None else (start, span.end)


def _events(span: Span, others: list[Booking], tool: str) -> list[tuple[datetime, int]]:
    events: list[tuple[datetime, int]] = []
    for other in others:
        count = other.tools.count(tool)
        if count:
            events.append((max(other.span.start, span.start), count))
            events.append((min(other.span.end, span.end), -count))
    return events


def _running(active: list[Booking], tool: str, inside: Sequence[Booking] = ()) -> str:
    parts = [f"{b.tools.count(tool)} for {_who(b, inside)} {span_text(b.span)}"
             for b in sorted(active, key=lambda b: b.span.start)]
    return f"{sum(b.tools.count(tool) for b in active)} ({'; '.join(parts)})"


def _who(booking: Booking, inside: Sequence[Booking]) -> str:
    if any(booking is mine for mine in inside):
        return f"occurrence {booking.occurrence} of this request"
    return holder(booking)
