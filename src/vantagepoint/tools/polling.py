"""Tools that poll something: once, or every interval until the end of the period."""

from __future__ import annotations

import time
from collections.abc import Callable

from vantagepoint.tools.base import RunContext


def poll_until_end(ctx: RunContext, interval: float | None,
                   poll: Callable[[RunContext], None]) -> int:
    """Call ``poll`` once, or at start + k * interval until stopping; how many times."""
    start, polls = time.monotonic(), 0
    while not ctx.stopping:
        poll(ctx)
        polls += 1
        if not interval or ctx.wait(start + polls * interval - time.monotonic()):
            break
    return polls
