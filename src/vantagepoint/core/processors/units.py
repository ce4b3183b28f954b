"""Units the convert processor knows: each is a dimension and its factor to the base unit."""

from __future__ import annotations

from fractions import Fraction

UNITS: dict[str, tuple[str, float]] = {
    # time, base: seconds
    "ns": ("time", 1e-9), "us": ("time", 1e-6), "ms": ("time", 1e-3), "s": ("time", 1.0),
    "min": ("time", 60.0), "h": ("time", 3600.0),
    # data, base: bits
    "bits": ("data", 1.0), "bytes": ("data", 8.0), "kbit": ("data", 1e3),
    "Mbit": ("data", 1e6), "Gbit": ("data", 1e9), "kB": ("data", 8e3), "MB": ("data", 8e6),
    "GB": ("data", 8e9), "KiB": ("data", 8.0 * 1024), "MiB": ("data", 8.0 * 1024 ** 2),
    "GiB": ("data", 8.0 * 1024 ** 3),
    # rate, base: bits per second
    "bps": ("rate", 1.0), "kbps": ("rate", 1e3), "Mbps": ("rate", 1e6), "Gbps": ("rate", 1e9),
    "Bps": ("rate", 8.0), "kBps": ("rate", 8e3), "MBps": ("rate", 8e6),
    # ratio, base: fraction
    "ratio": ("ratio", 1.0), "pct": ("ratio", 0.01),
}


def factor(source: str, target: str) -> float:
    """Multiply a value in ``source`` by this to get it in ``target`` (same dimension).

    Worked out in exact fractions, so ms -> us is exactly 1000 (not 1000.0000000000001)."""
    return float(Fraction(str(UNITS[source][1])) / Fraction(str(UNITS[target][1])))


def mismatch(source: str, target: str) -> str | None:
    """Why the two units cannot convert, or None."""
    a, b = UNITS[source][0], UNITS[target][0]
    return None if a == b else f"cannot convert {source} ({a}) to {target} ({b})"
