"""Plain data the scheduler reasons about; no I/O here.

Times are timezone-aware UTC datetimes; every range is half-open ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol


class Span(NamedTuple):
    """A half-open time range ``[start, end)``.

    A tuple: built, hashed and compared in C, as the calendar does for every booking.
    """

    start: datetime
    end: datetime

    def overlaps(self, other: Span, padding: timedelta = timedelta(0)) -> bool:
        """True if the ranges, each widened by ``padding`` on both sides, share a moment."""
        return self.start - padding < other.end and other.start - padding < self.end

    def shifted(self, delta: timedelta) -> Span:
        return Span(self.start + delta, self.end + delta)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class NodeInfo:
    """What policies know about a node."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    interfaces: tuple[str, ...] = ()
    status: str = "active"  # active | maintenance | disabled


@dataclass(frozen=True)
class Booking:
    """One node's part in one occurrence of a schedule: what the calendar holds."""

    node: str
    span: Span
    schedule_id: int | None = None  # None while only proposed
    occurrence: int = 0
    shared: bool = False
    interfaces: tuple[str, ...] = ()  # measurement interfaces its actions use
    tools: tuple[str, ...] = ()  # tool names its actions run (one entry per action)
    system: bool = False  # a system (background) schedule that user schedules avoid

    @classmethod
    def of(cls, **fields) -> Booking:
        """A booking from every one of its fields, without the frozen ``__init__``'s cost."""
        booking = object.__new__(cls)
        booking.__dict__.update(fields)
        return booking

    def stored_as(self, schedule_id: int) -> Booking:
        """This proposed booking as stored under ``schedule_id``."""
        return self._with(schedule_id=schedule_id)

    def moved(self, span: Span, occurrence: int) -> Booking:
        """The same node part in another occurrence."""
        return self._with(span=span, occurrence=occurrence)

    def _with(self, **changes) -> Booking:
        """A copy with some fields changed, made by copying the fields directly.

        A periodic request builds and stores thousands of bookings; a frozen
        dataclass's ``__init__`` (or ``dataclasses.replace``) costs several times this.
        """
        copy = object.__new__(Booking)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


@dataclass(frozen=True)
class Proposal:
    """What a request would book: every node part of every occurrence, and about whom."""

    owner: str
    scenario: str
    shared: bool
    status: str  # development | approved
    bookings: tuple[Booking, ...]

    def occurrences(self) -> dict[int, list[Booking]]:
        by: dict[int, list[Booking]] = {}
        for booking in self.bookings:
            by.setdefault(booking.occurrence, []).append(booking)
        return by


@dataclass(frozen=True)
class Refusal:
    """Why a policy says no, naming the policy, the node, the time and the conflict."""

    policy: str
    message: str
    node: str | None = None
    occurrence: int | None = None
    at: datetime | None = None
    conflict_schedule: int | None = None
    retry_after: datetime | None = None  # earliest moment the same booking might pass

    def __str__(self) -> str:
        return f"[{self.policy}] {self.message}"


class CalendarView(Protocol):
    """Read access to what is booked, for policies."""

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[Booking]:
        """Bookings on ``node`` overlapping ``span`` widened by ``padding`` each side."""
        ...

    def node(self, name: str) -> NodeInfo | None: ...


class Policy(Protocol):
    """A scheduling rule; registered in the ``vantagepoint.policies`` entry-point group."""

    name: str

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """Every reason to refuse the proposal (empty: accept)."""
        ...
