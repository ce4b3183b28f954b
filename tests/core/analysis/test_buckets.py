"""Time buckets: every result lands in exactly one bucket, with numpy's figures for it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.core.analysis.conftest import add_execution, add_results, snapshot
from vantagepoint.core.analysis.buckets import bucketize, time_range
from vantagepoint.core.analysis.selection import Selection

T0 = 1_767_225_600.0


@pytest.fixture
def points(sessions, owners):
    rng = np.random.default_rng(3)
    ex = add_execution(sessions, owners["bob"], snapshot(("n1", "a1", "op0"),
                                                         ("n2", "a2", "op1")))
    stamps = {node: T0 + np.sort(rng.uniform(0, 3600, 800)) for node in ("n1", "n2")}
    values = {node: rng.normal(40, 5, 800) for node in ("n1", "n2")}
    values["n1"][123] = 900.0  # a spike must survive downsampling
    for node in ("n1", "n2"):
        add_results(sessions, ex, node, "a" + node[1], "rtt_ms",
                    [(float(t), float(v)) for t, v in zip(stamps[node], values[node],
                                                          strict=True)], spool=node)
    return stamps, values


def _expected(stamps, values, since, until, count):
    index = np.minimum(((stamps - since) / ((until - since) / count)).astype(int), count - 1)
    inside = (stamps >= since) & (stamps < until)
    return {i: values[inside & (index == i)] for i in np.unique(index[inside])}


@pytest.mark.parametrize("count", [1, 7, 50])
def test_buckets_match_numpy(sessions, points, count):
    stamps, values = points
    since, until = T0 + 100.0, T0 + 3500.0
    with sessions() as db:
        series = bucketize(db, Selection("rtt_ms", node="n1", since=since, until=until), [],
                           count)
    want = _expected(stamps["n1"], values["n1"], since, until, count)
    [buckets] = series.values()
    assert [b.index for b in buckets] == sorted(want)
    for b in buckets:
        got = want[b.index]
        assert (b.count, b.numeric) == (len(got), len(got))
        assert (b.min, b.max) == (pytest.approx(got.min()), pytest.approx(got.max()))
        assert b.mean == pytest.approx(got.mean())
    assert sum(b.count for b in buckets) == sum(len(v) for v in want.values())
    assert max(b.max for b in buckets) == 900.0


def test_buckets_per_interface(sessions, points):
    stamps, values = points
    with sessions() as db:
        sel = Selection("rtt_ms")
        since, until = time_range(db, sel)
        series = bucketize(db, Selection("rtt_ms", since=since, until=until), ["interface"],
                           10)
    assert sorted(series) == [("op0",), ("op1",)]
    assert sum(b.count for b in series[("op1",)]) == 800
    assert series[("op1",)][-1].max == pytest.approx(
        values["n2"][stamps["n2"] >= since + 9 * (until - since) / 10].max())


def test_no_results_have_no_range(sessions, owners):
    with sessions() as db:
        assert time_range(db, Selection("nothing")) is None
