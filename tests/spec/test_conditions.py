"""Condition expressions: what parses, what does not, and how they judge values."""

from __future__ import annotations

import random
import re
import statistics

import pytest

from vantagepoint.spec.conditions import aggregate, parse_condition


@pytest.mark.parametrize("text,result,op,value", [
    ("rtt_ms < 200", "rtt_ms", "<", 200.0),
    ("loss_pct>=5.5", "loss_pct", ">=", 5.5),
    ("  x == -1e3 ", "x", "==", -1000.0),
    ("y != .5", "y", "!=", 0.5),
])
def test_parses(text, result, op, value):
    c = parse_condition(text)
    assert (c.result, c.op, c.value) == (result, op, value)


@pytest.mark.parametrize("text", ["rtt_ms", "rtt_ms << 3", "< 3", "rtt_ms < abc",
                                  "rtt_ms < 3; rm -rf /", "1 < 2"])
def test_refuses(text):
    with pytest.raises(ValueError, match="cannot parse condition"):
        parse_condition(text)


def test_holds():
    c = parse_condition("rtt_ms < 200")
    assert c.holds(199.9) and not c.holds(200) and not c.holds(250)


@pytest.mark.parametrize("text,func,result,window,op,value", [
    ("p95(rtt_ms, 60s) > 150", "p95", "rtt_ms", 60.0, ">", 150.0),
    ("loss_pct(30s) > 5", "loss_pct", "loss", 30.0, ">", 5.0),
    ("loss_pct(lost, 2m) >= 1", "loss_pct", "lost", 120.0, ">=", 1.0),
    ("count(rtt_ms, 10s) == 0", "count", "rtt_ms", 10.0, "==", 0.0),
    ("mean( x ,500ms)<3", "mean", "x", 0.5, "<", 3.0),
    ("p99.9(x, 1h) != 0", "p99.9", "x", 3600.0, "!=", 0.0),
])
def test_parses_windowed(text, func, result, window, op, value):
    c = parse_condition(text)
    assert (c.func, c.result, c.window, c.op, c.value) == (func, result, window, op, value)
    assert parse_condition(str(c)) == c  # the canonical text parses back to the same


@pytest.mark.parametrize("text,reason", [
    ("median(x, 10s) > 1", "unknown aggregate 'median'"),
    ("p100(x, 10s) > 1", "unknown aggregate 'p100'"),
    ("p95(10s) > 1", "p95() needs a result"),
    ("mean(x, 0s) > 1", "the window must be above 0"),
    ("mean(x, 2d) > 1", "cannot parse"),
    ("mean(x) > 1", "cannot parse"),
])
def test_refuses_windowed(text, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_condition(text)


@pytest.mark.parametrize("func", ["mean", "min", "max", "count", "p5", "p50", "p95", "p99.9"])
def test_aggregates_agree_with_statistics(func):
    rng = random.Random(7)
    values = [rng.gauss(50, 20) for _ in range(101)]
    plain = {"mean": statistics.fmean, "min": min, "max": max, "count": len}.get(func)
    if plain:
        want = plain(values)
    else:  # statistics' inclusive quantiles interpolate like numpy.percentile
        q = float(func[1:])
        want = statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1]
    assert aggregate(func, values) == pytest.approx(want)


def test_loss_pct_is_the_share_of_ones():
    assert aggregate("loss_pct", [0, 1, 0, 0]) == 25.0
    assert aggregate("loss_pct", []) is None and aggregate("count", []) == 0.0
