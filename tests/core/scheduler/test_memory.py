"""MemoryCalendar answers exactly what a brute-force scan answers, from a bisected window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from vantagepoint.core.scheduler.memory import DEFAULT_MAX_LENGTH, MemoryCalendar
from vantagepoint.core.scheduler.model import Booking, NodeInfo, Span

EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
MAX_MINUTES = int(DEFAULT_MAX_LENGTH.total_seconds() // 60)


def minute(n: int) -> datetime:
    return EPOCH + timedelta(minutes=n)


def random_bookings(rng: random.Random, count: int, horizon: int) -> list[Booking]:
    """Bookings on whole minutes, so that many of them touch a query's edges exactly."""
    made = []
    for i in range(count):
        start = rng.randrange(horizon)
        length = rng.choice([1, 5, 60, MAX_MINUTES, rng.randrange(1, MAX_MINUTES + 1)])
        made.append(Booking("n1", Span(minute(start), minute(start + length)), schedule_id=i))
    return made


def brute(bookings: list[Booking], span: Span, padding: timedelta) -> list[int]:
    low, high = span.start - padding, span.end + padding
    return sorted(b.schedule_id for b in bookings if b.span.start < high and low < b.span.end)


def random_query(rng: random.Random, horizon: int) -> tuple[Span, timedelta]:
    start = rng.randrange(-2000, horizon + 2000)
    span = Span(minute(start), minute(start + rng.randrange(1, 3000)))
    return span, timedelta(minutes=rng.choice([0, 0, 2, rng.randrange(2000)]))


def test_query_matches_a_brute_force_scan_over_100000_bookings():
    rng = random.Random(20261201)
    horizon = 60 * 24 * 60
    bookings = random_bookings(rng, 100_000, horizon)
    cal = MemoryCalendar(bookings=bookings)
    for _ in range(40):
        span, padding = random_query(rng, horizon)
        found = cal.bookings("n1", span, padding)
        assert sorted(b.schedule_id for b in found) == brute(bookings, span, padding)


def test_one_by_one_adds_keep_order_and_match_brute_force():
    rng = random.Random(7)
    horizon = 5 * 24 * 60
    bookings = random_bookings(rng, 3000, horizon)
    cal = MemoryCalendar()
    for booking in bookings:
        cal.add(booking)
    starts = [b.span.start for b in cal.all_bookings("n1")]
    assert starts == sorted(starts)
    for _ in range(300):
        span, padding = random_query(rng, horizon)
        found = [b.schedule_id for b in cal.bookings("n1", span, padding)]
        assert sorted(found) == brute(bookings, span, padding)


def test_padding_edges_are_half_open():
    booked = Booking("n1", Span(minute(60), minute(120)), schedule_id=1)
    cal = MemoryCalendar(bookings=[booked])
    after = Span(minute(122), minute(130))
    assert cal.bookings("n1", after, timedelta(minutes=2)) == []
    assert cal.bookings("n1", after, timedelta(minutes=2, seconds=1)) == [booked]
    before = Span(minute(50), minute(58))
    assert cal.bookings("n1", before, timedelta(minutes=2)) == []
    assert cal.bookings("n1", before, timedelta(minutes=2, seconds=1)) == [booked]


def test_nodes_and_unknown_nodes():
    cal = MemoryCalendar(nodes=[NodeInfo("n1", {"type": "testing"})])
    assert cal.node("n1").attributes == {"type": "testing"}
    assert cal.node("n2") is None
    cal.add_node(NodeInfo("n2"))
    assert cal.node("n2") == NodeInfo("n2")
    assert cal.bookings("n2", Span(minute(0), minute(1)), timedelta(0)) == []


def test_a_booking_longer_than_the_maximum_is_refused():
    cal = MemoryCalendar(max_length=timedelta(hours=1))
    with pytest.raises(ValueError, match="longer than"):
        cal.add(Booking("n1", Span(minute(0), minute(61))))


def test_max_length_is_the_first_positional_argument():
    cal = MemoryCalendar(timedelta(minutes=5))
    assert cal.max_length == timedelta(minutes=5)
