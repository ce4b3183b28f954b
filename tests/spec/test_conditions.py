"""Condition expressions: what parses, what does not, and how they judge values."""

from __future__ import annotations

import pytest

from vantagepoint.spec.conditions import parse_condition


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
