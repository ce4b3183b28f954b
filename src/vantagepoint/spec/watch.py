"""Watching result streams against conditions: pure state machines, no I/O.

The agent feeds every result an action emits (so windows run across upload
batches, which the agent never sees here) and ticks the watches about once a
second so that windows also move when nothing arrives (``count(...) == 0``);
the core feeds the results its processors derive.

Firing is edge-triggered: a condition raises one alarm when it becomes true,
and is re-armed once it is false again (or its window holds no value), so a
condition that stays true raises one alarm, not one per result.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vantagepoint.spec.conditions import Condition

_SLACK = 1e-6  # float tolerance when asking whether a window is fully observed


def numeric(value: Any) -> float | None:
    """The value as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Firing:
    """A condition that became true: its text, the value that made it so and when."""

    condition: str
    result: str
    value: float
    ts: float


class Watch:
    """One condition over one result stream."""

    def __init__(self, condition: Condition, start: float | None = None):
        self.condition = condition
        self.start = start  # when observation began: earlier windows are incomplete
        self.firing = False
        self._times: list[float] = []
        self._values: list[float] = []

    def observe(self, ts: float, value: float) -> Firing | None:
        """Take one value; a Firing when the condition just became true."""
        if self.start is None:
            self.start = ts
        if not self.condition.windowed:
            return self._judge(value, ts)
        at = bisect.bisect_right(self._times, ts)
        self._times.insert(at, ts)
        self._values.insert(at, value)
        return self._evaluate(max(ts, self._times[-1]), ts)

    def tick(self, now: float) -> Firing | None:
        """Move the window to ``now`` (values age out; silence counts)."""
        if not self.condition.windowed or self.start is None:
            return None
        return self._evaluate(max(now, self._times[-1] if self._times else now), now)

    def _evaluate(self, end: float, ts: float) -> Firing | None:
        window = self.condition.window or 0.0
        cut = bisect.bisect_right(self._times, end - window)
        del self._times[:cut], self._values[:cut]
        if self.condition.counts_absence and end - window < self.start - _SLACK:
            return None  # the window reaches back before observation began
        value = self.condition.aggregate(self._values)
        if value is None:
            self.firing = False
            return None
        return self._judge(value, ts)

    def _judge(self, value: float, ts: float) -> Firing | None:
        now_true = self.condition.holds(value)
        fired = now_true and not self.firing
        self.firing = now_true
        if not fired:
            return None
        return Firing(str(self.condition), self.condition.result, value, ts)


class ActionWatch:
    """Every watched condition of one action."""

    def __init__(self, conditions: Iterable[Condition], start: float | None = None):
        self.watches = [Watch(c, start) for c in conditions]
        self.results = frozenset(c.result for c in self.watches_conditions())

    def watches_conditions(self) -> list[Condition]:
        return [w.condition for w in self.watches]

    def observe(self, name: str, ts: float, value: Any) -> list[Firing]:
        """Feed one emitted result; the conditions it made true."""
        number = numeric(value)
        if number is None or name not in self.results:
            return []
        return [f for w in self.watches
                if w.condition.result == name and (f := w.observe(ts, number)) is not None]

    def tick(self, now: float) -> list[Firing]:
        """Move every window to ``now``; the conditions that became true."""
        return [f for w in self.watches if (f := w.tick(now)) is not None]
