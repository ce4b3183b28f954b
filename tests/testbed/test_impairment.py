"""The emulator's delay line: due times, loss, jitter and reordering (no root needed)."""

from __future__ import annotations

import random

import pytest

from vantagepoint.testbed.impairment import DelayLine, Impairment

MS = 1_000_000


def _dues(imp: Impairment, count: int = 20000, gap_ns: int = 100_000) -> list[int | None]:
    line = DelayLine(imp, random.Random(7))
    return [line.due(i * gap_ns) for i in range(count)]


def test_a_plain_delay_adds_exactly_the_delay():
    line = DelayLine(Impairment(delay_ms=20))
    assert [line.due(t) for t in (0, 5 * MS)] == [20 * MS, 25 * MS]


@pytest.mark.parametrize("loss", [1.0, 10.0, 50.0])
def test_loss_drops_the_configured_share(loss):
    dues = _dues(Impairment(loss_pct=loss))
    assert dues.count(None) / len(dues) == pytest.approx(loss / 100, abs=0.01)


def test_jitter_spreads_delay_but_keeps_the_order():
    gap = 2 * MS  # frames further apart than the jitter: the spread shows
    dues = _dues(Impairment(delay_ms=10, jitter_ms=2), count=5000, gap_ns=gap)
    delays = [due - i * gap for i, due in enumerate(dues)]
    assert min(delays) >= 8 * MS and max(delays) <= 12 * MS
    assert sum(delays) / len(delays) == pytest.approx(10 * MS, rel=0.02)
    dense = _dues(Impairment(delay_ms=10, jitter_ms=2))
    assert dense == sorted(dense)


def test_reordered_frames_overtake_those_held():
    dues = _dues(Impairment(delay_ms=10, reorder_pct=25))
    overtaking = sum(1 for a, b in zip(dues, dues[1:], strict=False) if b < a)
    assert overtaking / len(dues) == pytest.approx(0.25 * 0.75, abs=0.02)


def test_nothing_configured_needs_no_emulator():
    assert not Impairment().active()
    assert Impairment(reorder_pct=1).active()
