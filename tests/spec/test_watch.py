"""Each condition kind fires exactly when it should, once per episode, and not otherwise."""

from __future__ import annotations

import pytest

from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.watch import ActionWatch, Watch


def feed(watch: Watch, series) -> list[tuple[float, float]]:
    """(ts, value) of every firing while feeding (ts, value) pairs."""
    return [(f.ts, f.value) for ts, v in series if (f := watch.observe(ts, v))]


def test_comparison_fires_once_per_excursion():
    w = Watch(parse_condition("rtt_ms > 200"))
    series = [(1, 10), (2, 250), (3, 300), (4, 150), (5, 201), (6, 200)]
    assert feed(w, series) == [(2, 250), (5, 201)]


def test_percentile_window_fires_when_the_tail_rises_and_rearms_when_it_falls():
    w = Watch(parse_condition("p95(rtt_ms, 10s) > 150"))
    quiet = [(t, 20.0) for t in range(0, 20)]
    assert feed(w, quiet) == []
    # One 300 among ten values in (10, 20]: p95 (linear) is 20 + 0.55 * 280 = 174.
    burst = [(20, 300.0), (21, 300.0)]
    assert feed(w, burst) == [(20, pytest.approx(174.0))]
    assert w.firing
    # The burst ages out of the 10 s window: re-armed, no new firing meanwhile.
    assert feed(w, [(t, 20.0) for t in range(22, 33)]) == []
    assert not w.firing
    assert feed(w, [(33, 400.0), (34, 400.0)]) == [(33, pytest.approx(229.0))]


def test_single_high_value_in_a_large_window_does_not_move_p95():
    w = Watch(parse_condition("p95(rtt_ms, 60s) > 150"))
    series = [(t, 20.0) for t in range(0, 60)] + [(60, 1000.0)]
    assert feed(w, series) == []


def test_mean_min_max():
    assert feed(Watch(parse_condition("mean(x, 4s) > 10")), [(0, 5), (1, 5), (2, 30)]) == \
        [(2, 40 / 3)]
    assert feed(Watch(parse_condition("min(x, 2s) > 10")), [(0, 5), (1, 20), (2, 30)]) == \
        [(2, 20)]
    assert feed(Watch(parse_condition("max(x, 2s) < 10")), [(0, 50), (1, 5), (2.5, 6)]) == \
        [(2.5, 6)]


def test_loss_pct_over_per_probe_results():
    w = Watch(parse_condition("loss_pct(10s) > 5"))
    ok = [(t, 0) for t in range(0, 19)]
    assert feed(w, ok) == []
    # 1 lost of 10 in the window is 10 %.
    assert feed(w, [(19, 1)]) == [(19, 10.0)]
    assert feed(w, [(t, 0) for t in range(20, 40)]) == []
    assert not w.firing


def test_silence_fires_only_after_a_full_quiet_window():
    w = Watch(parse_condition("count(rtt_ms, 10s) == 0"), start=100.0)
    assert w.tick(105.0) is None  # not observed for 10 s yet
    assert w.tick(109.9) is None
    fired = w.tick(110.0)
    assert fired is not None and fired.value == 0 and fired.ts == 110.0
    assert w.tick(111.0) is None  # still silent: one alarm per episode
    assert w.observe(112.0, 5.0) is None and not w.firing  # a result re-arms it
    assert w.tick(121.9) is None
    assert w.tick(122.1) is not None


def test_count_does_not_fire_before_its_window_is_observed():
    w = Watch(parse_condition("count(x, 10s) < 3"), start=0.0)
    assert feed(w, [(1, 1), (2, 1)]) == []  # only 2 so far, but the window is incomplete
    assert feed(w, [(9, 1)]) == []
    assert w.tick(10.5) is None  # values at 1, 2, 9: three in (0.5, 10.5]
    assert w.tick(11.5) is not None  # the one at 1 aged out


def test_windows_accept_values_out_of_order():
    w = Watch(parse_condition("max(x, 5s) > 10"))
    assert feed(w, [(10, 1), (12, 2), (11, 50)]) == [(11, 50)]
    assert feed(w, [(3, 99)]) == []  # older than the window: ignored


def test_action_watch_routes_by_result_and_ignores_non_numbers():
    watch = ActionWatch([parse_condition("rtt_ms > 5"), parse_condition("loss_pct(5s) > 0")])
    assert watch.observe("rtt_ms", 1.0, "slow") == []
    assert watch.observe("rtt_ms", 1.0, True) == []
    assert watch.observe("other", 1.0, 100) == []
    fired = watch.observe("rtt_ms", 2.0, 7.5)
    assert [(f.condition, f.value) for f in fired] == [("rtt_ms > 5", 7.5)]
    fired = watch.observe("loss", 3.0, 1)
    assert [(f.condition, f.value) for f in fired] == [("loss_pct(5s) > 0", 100.0)]
