"""Condition expressions on results, e.g. ``rtt_ms < 200``.

The grammar is deliberately small: ``<result> <op> <number>``. Windowed forms
(``p95(rtt_ms, 60s) > 150``) arrive with the alarms work.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

OPERATORS = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
_EXPR = re.compile(
    r"^\s*(?P<result>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<value>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$"
)


@dataclass(frozen=True)
class Condition:
    """A parsed predicate that holds while results are acceptable."""

    result: str
    op: str
    value: float

    def holds(self, observed: float) -> bool:
        return OPERATORS[self.op](observed, self.value)

    def __str__(self) -> str:
        return f"{self.result} {self.op} {self.value:g}"


def parse_condition(text: str) -> Condition:
    """Parse ``result op number``; raise ValueError with a readable reason."""
    match = _EXPR.match(text)
    if not match:
        raise ValueError(
            f"cannot parse condition {text!r}: expected '<result> <op> <number>' "
            f"with op one of {', '.join(OPERATORS)}"
        )
    return Condition(match["result"], match["op"], float(match["value"]))
