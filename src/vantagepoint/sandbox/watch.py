"""What stops a running sandbox: its slot's end, a cancel, or a limit it exceeded."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def tree_bytes(root: Path) -> int:
    """Bytes of every regular file under ``root`` (files vanishing meanwhile are skipped)."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


@dataclass
class Check:
    """One limit: a reading and the most it may reach; ``exceeded`` says why it stops."""

    what: str
    read: Callable[[], int]
    limit: int | None
    unit: str = "MB"

    def exceeded(self) -> str | None:
        if self.limit is None:
            return None
        value = self.read()
        if value <= self.limit:
            return None
        return (f"{self.what} limit of {self.limit / 1e6:g} {self.unit} exceeded "
                f"({value / 1e6:.1f} {self.unit})")


def first_exceeded(checks: list[Check]) -> str | None:
    """Why the first exceeded check stops the sandbox, or None."""
    for check in checks:
        reason = check.exceeded()
        if reason:
            return reason
    return None
