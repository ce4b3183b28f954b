"""Process-wide settings of a core process that its speed depends on."""

from __future__ import annotations

import gc

# The scheduler keeps hundreds of thousands of bookings in memory (calendar_cache), and
# a request allocates thousands of small objects. With CPython's default thresholds
# (700, 10, 10) the collector walked the whole cache again and again, which took half
# of the time of a large periodic allocation. Collecting the youngest generation every
# 50,000 allocations instead of every 700 keeps that in check; nothing here relies on
# cycles being freed promptly.
GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Set the collector's thresholds and move what start-up built out of its sight."""
    gc.set_threshold(*GC_THRESHOLDS)
    gc.collect()  # garbage frozen with the rest would never be freed
    gc.freeze()  # modules, settings, the app: long-lived, never garbage
