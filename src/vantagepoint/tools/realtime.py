"""Real-time scheduling for the stretch of a tool that keeps a send schedule.

On a busy node an ordinary process can be kept off the CPU for milliseconds,
and every probe due meanwhile leaves late. Where the process may (root or
CAP_SYS_NICE), ``realtime()`` runs the calling thread at a low SCHED_FIFO
priority, with a 1 ns timer slack so its sleeps end on time, and puts both
back when the block ends. Elsewhere it changes nothing and says so.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

PR_SET_TIMERSLACK, PR_GET_TIMERSLACK = 29, 30
PRIORITY = 5  # below the testbed's link emulator (10) and the kernel's own threads


def _prctl(option: int, value: int = 0) -> int:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        return -1


@contextmanager
def realtime(priority: int = PRIORITY) -> Iterator[bool]:
    """Run the block at SCHED_FIFO ``priority`` when allowed; yields whether it is."""
    slack = _prctl(PR_GET_TIMERSLACK)
    _prctl(PR_SET_TIMERSLACK, 1)
    try:
        before = (os.sched_getscheduler(0), os.sched_getparam(0))
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        granted = True
    except (OSError, AttributeError):
        granted = False
    try:
        yield granted
    finally:
        if granted:
            os.sched_setscheduler(0, before[0], before[1])
        if slack > 0:
            _prctl(PR_SET_TIMERSLACK, slack)
