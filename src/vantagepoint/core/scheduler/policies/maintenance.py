"""Policy ``maintenance``: no booking overlaps a daily UTC maintenance window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import Booking, CalendarView, Proposal, Refusal, Span
from vantagepoint.core.scheduler.policies import part, seconds_text, span_text, stamp

DAY = timedelta(days=1)
PATTERN = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


@dataclass(frozen=True)
class Window:
    """A daily window ``[start, start + length)`` after each UTC midnight; may cross midnight."""

    text: str
    start: timedelta
    length: timedelta

    def instances(self, span: Span) -> Iterator[Span]:
        """The window's occurrences that overlap ``span``, in time order."""
        first = span.start.astimezone(UTC).date() - DAY
        day = datetime(first.year, first.month, first.day, tzinfo=UTC)
        while day + self.start < span.end:
            instance = Span(day + self.start, day + self.start + self.length)
            if instance.overlaps(span):
                yield instance
            day += DAY


def parse_window(text: str) -> Window:
    """``'HH:MM-HH:MM'`` (UTC) as a Window; ``'23:30-00:30'`` crosses midnight."""
    match = PATTERN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"maintenance window {text!r} is not 'HH:MM-HH:MM' (UTC),"
                         " e.g. '03:00-03:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(f"maintenance window {text!r} names a time that does not exist")
    start, end = timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2)
    if start == end:
        raise ValueError(f"maintenance window {text!r} starts and ends at the same time")
    return Window(text.strip(), start, end - start if end > start else end + DAY - start)


def longest_gap(windows: list[Window]) -> timedelta:
    """The longest stretch of a day (wrapping around midnight) outside every window."""
    blocked = [False] * 1440
    for window in windows:
        first = int(window.start.total_seconds() // 60)
        for minute in range(first, first + int(window.length.total_seconds() // 60)):
            blocked[minute % 1440] = True
    if all(blocked):
        return timedelta(0)
    best = run = 0
    for minute in blocked + blocked:
        run = 0 if minute else run + 1
        best = max(best, run)
    return timedelta(minutes=min(best, 1440))


class Maintenance:
    """No booking may overlap any of ``maintenance_windows`` (daily, UTC, half-open)."""

    name = "maintenance"

    def __init__(self, settings: CoreSettings):
        self.windows = [parse_window(text) for text in settings.maintenance_windows]
        self.gap = longest_gap(self.windows)

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """Refuse every proposed booking that overlaps a maintenance window."""
        refusals: list[Refusal] = []
        for booking in proposal.bookings if self.windows else ():
            if booking.span.end - booking.span.start > self.gap:
                refusals.append(self._too_long(booking))
                continue
            for window in self.windows:
                refusals.extend(self._overlap(booking, window, instance)
                                for instance in window.instances(booking.span))
        return refusals

    def _overlap(self, booking: Booking, window: Window, instance: Span) -> Refusal:
        message = (
            f"{part(booking)} on node {booking.node} overlaps the daily maintenance window"
            f" {window.text} UTC ({span_text(instance)}); start at {stamp(instance.end)} or"
            " later, or end before the window starts")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=max(booking.span.start, instance.start), retry_after=instance.end)

    def _too_long(self, booking: Booking) -> Refusal:
        length = booking.span.end - booking.span.start
        message = (
            f"{part(booking)} on node {booking.node} lasts {seconds_text(length)}, longer than"
            f" the longest stretch between the daily maintenance windows"
            f" ({', '.join(w.text for w in self.windows)} UTC), {seconds_text(self.gap)};"
            " ask for a shorter slot")
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=booking.span.start)
