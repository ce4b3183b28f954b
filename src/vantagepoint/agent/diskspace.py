"""Free space of the agent's data directory: below the reserve new results are refused.

The reserve (``min_free_disk_mb``) keeps room for what says the disk is full (a
log line per action, the ``Disk.Full`` node event) and for marking uploads, so
a full disk never costs a row already written nor corrupts the spool file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

CHECK_SECONDS = 0.5  # statvfs at most this often per spool connection
MB = 2**20


def free_bytes(path: str | Path) -> int:
    """Bytes an unprivileged writer may still use on ``path``'s filesystem."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def disk_full_error(exc: BaseException) -> bool:
    """True when SQLite gave up because the disk is full."""
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()


class SpaceGuard:
    """Says whether there is room for new results; checked at most every CHECK_SECONDS."""

    def __init__(self, path: str | Path, min_free_bytes: int):
        self.path, self.min_free = Path(path), int(min_free_bytes)
        self._checked = -CHECK_SECONDS
        self._problem: str | None = None

    def problem(self) -> str | None:
        """Why results are refused now (the disk is full), or None."""
        if self.min_free <= 0:
            return None
        now = time.monotonic()
        if now - self._checked >= CHECK_SECONDS:
            self._checked = now
            self._problem = low_space(self.path, self.min_free)
        return self._problem

    def full_now(self) -> None:
        """SQLite found the disk full before the next check did."""
        self._checked = time.monotonic()
        self._problem = f"disk full: SQLite could not write to {self.path}"


def low_space(path: Path, min_free: int) -> str | None:
    """The 'disk full' sentence when ``path`` has less than ``min_free`` bytes free."""
    free = free_bytes(path)
    if free >= min_free:
        return None
    return (f"disk full: {free / MB:.1f} MB free in {path} (keeps {min_free / MB:g} MB "
            f"in reserve); new results are refused until space is freed")
