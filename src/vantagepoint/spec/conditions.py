"""Condition expressions on results: an alarm is raised when one becomes true.

Two forms:

- a comparison of each value: ``rtt_ms > 200``;
- an aggregate over a sliding time window: ``p95(rtt_ms, 60s) > 150``,
  ``mean(rtt_ms, 5m) >= 80``, ``count(rtt_ms, 10s) == 0`` (silence), and
  ``loss_pct(30s) > 5`` (the share of ``loss`` results equal to 1, in percent;
  ``loss_pct(lost, 30s)`` names another per-probe 0/1 result).

Aggregates: ``mean``, ``min``, ``max``, ``count``, ``loss_pct`` and percentiles
``p1`` .. ``p99`` (``p99.9`` too). Windows take ``ms``, ``s``, ``m`` or ``h``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass

OPERATORS = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
AGGREGATES = ("mean", "min", "max", "count", "loss_pct", "pNN")
LOSS_RESULT = "loss"
MAX_WINDOW = 86400.0
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NUMBER = r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?"
_OP = r"<=|>=|==|!=|<|>"
_PLAIN = re.compile(rf"^\s*(?P<result>{_NAME})\s*(?P<op>{_OP})\s*(?P<value>{_NUMBER})\s*$")
_WINDOWED = re.compile(
    rf"^\s*(?P<func>[A-Za-z_][A-Za-z0-9_.]*)\s*\(\s*(?:(?P<result>{_NAME})\s*,\s*)?"
    rf"(?P<window>\d+(\.\d+)?)\s*(?P<unit>ms|s|m|h)\s*\)\s*"
    rf"(?P<op>{_OP})\s*(?P<value>{_NUMBER})\s*$")
_PERCENTILE = re.compile(r"^p(?P<q>\d{1,2}(\.\d+)?)$")


@dataclass(frozen=True)
class Condition:
    """A parsed predicate; with ``func`` it judges an aggregate over ``window`` seconds."""

    result: str
    op: str
    value: float
    func: str | None = None
    window: float | None = None

    @property
    def windowed(self) -> bool:
        return self.func is not None

    @property
    def counts_absence(self) -> bool:
        """True for ``count``: an empty window is a value (0), so time alone can change it."""
        return self.func == "count"

    def holds(self, observed: float) -> bool:
        """Whether the observed value (or aggregate) satisfies the comparison."""
        return OPERATORS[self.op](observed, self.value)

    def aggregate(self, values: Sequence[float]) -> float | None:
        """The condition's aggregate of a window's values; None when it has none."""
        return aggregate(self.func or "", values)

    def __str__(self) -> str:
        if self.func is None:
            return f"{self.result} {self.op} {self.value:g}"
        arg = "" if self.func == "loss_pct" and self.result == LOSS_RESULT else f"{self.result}, "
        return f"{self.func}({arg}{self.window:g}s) {self.op} {self.value:g}"


def parse_condition(text: str) -> Condition:
    """Parse a condition; raise ValueError with a readable reason."""
    match = _PLAIN.match(text)
    if match:
        return Condition(match["result"], match["op"], float(match["value"]))
    match = _WINDOWED.match(text)
    if not match:
        raise ValueError(
            f"cannot parse condition {text!r}: expected '<result> <op> <number>' or "
            f"'<aggregate>(<result>, <window>) <op> <number>' with op one of "
            f"{', '.join(OPERATORS)} and a window such as 30s, 500ms, 5m or 1h")
    func = _check_func(match["func"], text)
    result = match["result"] or _default_result(func, text)
    window = float(match["window"]) * _UNITS[match["unit"]]
    if not 0 < window <= MAX_WINDOW:
        raise ValueError(f"condition {text!r}: the window must be above 0 and at most "
                         f"{MAX_WINDOW:g} s")
    return Condition(result, match["op"], float(match["value"]), func, window)


def _check_func(func: str, text: str) -> str:
    if func in AGGREGATES or _percentile(func) is not None:
        return func
    raise ValueError(f"condition {text!r}: unknown aggregate {func!r} (use "
                     f"{', '.join(AGGREGATES)}; pNN is a percentile such as p95)")


def _default_result(func: str, text: str) -> str:
    if func == "loss_pct":
        return LOSS_RESULT
    raise ValueError(f"condition {text!r}: {func}() needs a result, e.g. {func}(rtt_ms, 60s)")


def _percentile(func: str) -> float | None:
    match = _PERCENTILE.match(func)
    if match is None:
        return None
    q = float(match["q"])
    return q if 0 < q < 100 else None


def aggregate(func: str, values: Sequence[float]) -> float | None:
    """Aggregate a window's values; ``count`` of nothing is 0, anything else is None."""
    if func == "count":
        return float(len(values))
    if not values:
        return None
    if func == "mean":
        return math.fsum(values) / len(values)
    if func == "min":
        return min(values)
    if func == "max":
        return max(values)
    if func == "loss_pct":
        return 100.0 * sum(1 for v in values if v) / len(values)
    q = _percentile(func)
    if q is None:
        raise ValueError(f"unknown aggregate {func!r}")
    return percentile(sorted(values), q)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, linear between ranks (numpy's default)."""
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
