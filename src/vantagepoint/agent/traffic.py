"""Bytes through measurement interfaces, from the kernel's counters (for the data quota)."""

from __future__ import annotations

from pathlib import Path

SYS_NET = Path("/sys/class/net")


def read_counters(devices: set[str], root: Path = SYS_NET) -> dict[str, int]:
    """Received plus sent bytes per device; devices without counters are left out."""
    counters = {}
    for device in devices:
        try:
            stats = root / device / "statistics"
            counters[device] = (int((stats / "rx_bytes").read_text())
                                + int((stats / "tx_bytes").read_text()))
        except (OSError, ValueError):
            continue
    return counters


def traffic_since(base: dict[str, int], root: Path = SYS_NET) -> int | None:
    """Bytes moved on the devices of ``base`` since it was read; None if nothing is known."""
    if not base:
        return None
    now = read_counters(set(base), root)
    return sum(max(0, now[d] - base[d]) for d in base if d in now)
