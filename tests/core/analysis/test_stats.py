"""Statistics agree with numpy on the same data, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest

from tests.core.analysis.conftest import add_execution, add_results, snapshot
from vantagepoint.core.analysis.selection import Selection, parse_group_keys
from vantagepoint.core.analysis.stats import summarize
from vantagepoint.errors import Invalid

T0 = 1_767_225_600.0  # 2026-01-01 UTC
QS = [0, 1, 5, 25, 50, 90, 95, 99, 99.9, 100]


def _close(got, want):
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def _check(stats, values: np.ndarray):
    assert stats.numeric == len(values)
    _close(stats.min, values.min())
    _close(stats.max, values.max())
    _close(stats.mean, values.mean())
    _close(stats.stddev, values.std(ddof=1))
    for q in QS:
        _close(stats.percentiles[q], np.percentile(values, q))


@pytest.fixture
def series(sessions, owners):
    """Two nodes, two interfaces, RTTs with NaN-free noise, plus ping counters."""
    rng = np.random.default_rng(7)
    ex = add_execution(sessions, owners["bob"], snapshot(("n1", "p0", "op0"),
                                                         ("n1", "p1", "op1"),
                                                         ("n2", "p0", "op0")))
    data = {}
    for node, action, size in (("n1", "p0", 997), ("n1", "p1", 500), ("n2", "p0", 31)):
        values = rng.lognormal(3.0, 0.6, size)
        add_results(sessions, ex, node, action, "rtt_ms",
                    [(T0 + i, float(v)) for i, v in enumerate(values)], spool=node + action)
        data[(node, action)] = values
    add_results(sessions, ex, "n1", "p0", "rtt_ms", [(T0 + 5000, None), (T0 + 5001, "x")],
                spool="odd")
    add_results(sessions, ex, "n1", "p0", "sent", [(T0 + 10, 100), (T0 + 20, 100)], "c1")
    add_results(sessions, ex, "n1", "p0", "received", [(T0 + 10, 97), (T0 + 20, 90)], "c2")
    return ex, data


def test_ungrouped_stats_match_numpy(sessions, series):
    _, data = series
    with sessions() as db:
        [stats] = summarize(db, Selection("rtt_ms"), [], QS)
    _check(stats, np.concatenate(list(data.values())))
    assert stats.count == stats.numeric + 2  # null and text values count, have no number


def test_stats_by_node_and_action(sessions, series):
    _, data = series
    with sessions() as db:
        groups = summarize(db, Selection("rtt_ms"), ["node", "action"], QS)
    assert [g.key for g in groups] == [("n1", "p0"), ("n1", "p1"), ("n2", "p0")]
    for g in groups:
        _check(g, data[g.key])


def test_stats_by_interface_come_from_the_snapshot(sessions, series):
    _, data = series
    with sessions() as db:
        groups = summarize(db, Selection("rtt_ms"), ["interface"], [50])
    assert [g.key for g in groups] == [("op0",), ("op1",)]
    op0 = np.concatenate([data[("n1", "p0")], data[("n2", "p0")]])
    _close(groups[0].percentiles[50], np.median(op0))
    _close(groups[1].mean, data[("n1", "p1")].mean())


def test_loss_comes_from_sent_and_received(sessions, series):
    with sessions() as db:
        groups = summarize(db, Selection("rtt_ms"), ["action"], [])
        windowed = summarize(db, Selection("rtt_ms", since=T0 + 15), ["action"], [])
    assert (groups[0].sent, groups[0].received) == (200, 187)
    _close(groups[0].loss_pct, 6.5)
    assert groups[1].loss_pct is None  # p1 reported no counters
    _close(windowed[0].loss_pct, 10.0)


def test_a_time_range_is_half_open(sessions, series):
    _, data = series
    with sessions() as db:
        [stats] = summarize(db, Selection("rtt_ms", node="n2", since=T0 + 10, until=T0 + 20),
                            [], QS)
    _check(stats, data[("n2", "p0")][10:20])


def test_large_offsets_keep_the_deviation_exact(sessions, owners):
    ex = add_execution(sessions, owners["bob"], snapshot())
    values = T0 + np.arange(1000) * 0.001
    add_results(sessions, ex, "n1", "a", "stamp", [(T0, float(v)) for v in values])
    with sessions() as db:
        [stats] = summarize(db, Selection("stamp"), [], [50])
    assert stats.stddev == pytest.approx(values.std(ddof=1), rel=1e-6)


def test_users_see_only_their_executions(sessions, owners, series):
    other = add_execution(sessions, owners["alice"], snapshot())
    add_results(sessions, other, "n1", "p0", "rtt_ms", [(T0, 1e6)], spool="alice")
    with sessions() as db:
        mine = summarize(db, Selection("rtt_ms", owner_id=owners["bob"]), [], [])
        everyone = summarize(db, Selection("rtt_ms"), [], [])
    assert mine[0].max < 1e6 and everyone[0].max == 1e6


def test_single_values_and_empty_selections(sessions, owners):
    ex = add_execution(sessions, owners["bob"], snapshot())
    add_results(sessions, ex, "n1", "a", "one", [(T0, 4.5)])
    with sessions() as db:
        [stats] = summarize(db, Selection("one"), [], [50, 99])
        assert summarize(db, Selection("none"), ["node"], [50]) == []
        assert summarize(db, Selection("none"), [], [50]) == []
    assert (stats.count, stats.stddev, stats.percentiles) == (1, None, {50: 4.5, 99: 4.5})


def test_group_keys_are_checked():
    assert parse_group_keys(["node,action", "node"]) == ["node", "action"]
    with pytest.raises(Invalid) as caught:
        parse_group_keys(["colour"])
    assert "colour" in caught.value.problems[0].message
    with pytest.raises(Invalid):
        parse_group_keys(["param:bad name"])


def test_stats_by_study_parameter(sessions, owners):
    from vantagepoint.core.store.models import Execution

    rng = np.random.default_rng(11)
    data = {}
    for load in ("low", "high", "low"):
        ex = add_execution(sessions, owners["bob"], snapshot(("n1", "p0", "op0")))
        with sessions.begin() as db:
            db.get(Execution, ex).study_params = {"load": load, "pattern": "burst"}
        values = rng.normal(50 if load == "low" else 90, 5, 40)
        add_results(sessions, ex, "n1", "p0", "rtt_ms",
                    [(T0 + i, float(v)) for i, v in enumerate(values)], spool=f"s{ex}")
        data[load] = np.concatenate([data.get(load, np.array([])), values])
    with sessions() as db:
        groups = summarize(db, Selection("rtt_ms"), ["param:load"], QS)
    assert sorted(g.key for g in groups) == [("high",), ("low",)]
    for g in groups:
        _check(g, data[g.key[0]])
