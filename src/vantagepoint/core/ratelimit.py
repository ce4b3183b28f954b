"""Rate limits: one token bucket per token (or per client address for sign-ins), per process.

With N core processes behind a proxy a token may get up to N times the rate
(each process keeps its own buckets); nginx ``limit_req`` can add a global cap.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass

from vantagepoint.errors import RateLimited

MAX_BUCKETS = 100_000  # beyond this, idle full buckets are forgotten


@dataclass(frozen=True)
class Limit:
    """``rate`` requests a second on average, ``burst`` at once; rate 0 means unlimited."""

    klass: str
    rate: float
    burst: int

    def describe(self) -> dict:
        return {"class": self.klass, "rate_per_s": self.rate, "burst": self.burst}


class Limiter:
    """Token buckets by key (a token id, an address); ``take`` raises RateLimited when empty.

    One limiter holds buckets of one limit: forgetting idle buckets assumes so.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (level, when)

    def take(self, key: Hashable, limit: Limit) -> None:
        if limit.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            level, then = self._buckets.get(key, (float(limit.burst), now))
            level = min(float(limit.burst), level + (now - then) * limit.rate)
            if level < 1.0:
                self._buckets[key] = (level, now)
                raise _refusal(limit, (1.0 - level) / limit.rate)
            self._buckets[key] = (level - 1.0, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_idle(now, limit)

    def _forget_idle(self, now: float, limit: Limit) -> None:
        # A bucket idle long enough to be full again holds nothing worth keeping.
        idle = limit.burst / limit.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < idle}


def _refusal(limit: Limit, wait: float) -> RateLimited:
    retry = max(1, math.ceil(wait))  # Retry-After takes whole seconds
    return RateLimited(
        f"rate limit of {limit.klass} tokens exceeded ({limit.rate:g} requests/s, "
        f"burst {limit.burst}); retry after {retry} s", retry_after=retry,
        limit=limit.describe())
