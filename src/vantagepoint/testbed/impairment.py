"""What an emulated link does to frames: the Impairment and its DelayLine (no I/O)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Impairment:
    """What a link does to each frame, in each direction independently."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    reorder_pct: float = 0.0

    def active(self) -> bool:
        """True when frames need the emulator (anything but a plain wire)."""
        return any((self.delay_ms, self.jitter_ms, self.loss_pct, self.reorder_pct))


class DelayLine:
    """When each frame of one direction leaves, or None when it is lost (no I/O).

    A frame is due ``delay_ms`` plus a uniform draw in ``[-jitter_ms, +jitter_ms]``
    after it arrived, but never before the frame ahead of it, so jitter alone
    keeps the order. ``reorder_pct`` of the frames go at once, overtaking those
    held (netem's meaning); ``loss_pct`` of the frames are dropped.
    """

    def __init__(self, impairment: Impairment, rng: random.Random | None = None):
        self.imp = impairment
        self.rng = rng or random.Random()
        self.last_due = 0

    def due(self, now_ns: int) -> int | None:
        """The due time of a frame that arrived at ``now_ns``; None if it is lost."""
        imp, rng = self.imp, self.rng
        if imp.loss_pct and rng.random() * 100 < imp.loss_pct:
            return None
        if imp.reorder_pct and rng.random() * 100 < imp.reorder_pct:
            return now_ns
        delay_ms = imp.delay_ms + (rng.uniform(-imp.jitter_ms, imp.jitter_ms)
                                   if imp.jitter_ms else 0.0)
        due = max(now_ns + int(max(delay_ms, 0.0) * 1e6), self.last_due)
        self.last_due = due
        return due
