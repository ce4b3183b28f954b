"""Parsing and showing durations, times and sizes, as the scheduling commands take them.

Durations: plain seconds (``90``, ``1.5``) or unit forms (``30s``, ``5m``, ``2h``, ``1d``,
``1h30m``). Times: RFC 3339 (``2026-05-01T12:00:00Z``; without an offset: local time),
``now``, or relative to now (``+10m``, ``+2h``). Sizes: bytes, or ``500MB``, ``100G``,
``1.5GiB``. Parsers raise ``typer.BadParameter`` (a usage error, exit 2).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import typer

SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?")
POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_duration(text: str, option: str = "--duration", *, zero_ok: bool = False) -> float:
    """Seconds from ``90``, ``1.5``, ``30s``, ``5m``, ``2h``, ``1d`` or ``1h30m``."""
    value = text.strip().lower()
    if PLAIN_NUMBER.fullmatch(value):
        seconds = float(value)
    elif DURATION.fullmatch(value):
        seconds = sum(float(n) * SECONDS[u] for n, u in DURATION_PART.findall(value))
    else:
        raise typer.BadParameter(f"expected seconds or a duration like 30s, 5m, 2h, 1d or "
                                 f"1h30m, got {text!r}", param_hint=option)
    if seconds <= 0 and not zero_ok:
        raise typer.BadParameter(f"must be more than zero, got {text!r}", param_hint=option)
    return seconds


def parse_time(text: str, option: str = "--start", now: datetime | None = None) -> datetime:
    """A UTC datetime from RFC 3339 (no offset: local time), ``now`` or ``+DURATION``."""
    now = now or datetime.now(UTC)
    value = text.strip()
    if value.lower() == "now":
        return now
    if value.startswith("+"):
        return now + timedelta(seconds=parse_duration(value[1:], option, zero_ok=True))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected an RFC 3339 time (2026-05-01T12:00:00Z), 'now' or a relative time "
            f"like +10m or +2h, got {text!r}", param_hint=option) from None
    return moment.astimezone(UTC)  # a naive time is taken as local


def parse_size(text: str, option: str = "--data-bytes") -> int:
    """Bytes from ``500000``, ``500MB``, ``100G`` (powers of 1000) or ``1.5GiB`` (of 1024)."""
    match = SIZE.fullmatch(text.strip().lower())
    if not match:
        raise typer.BadParameter(f"expected bytes or a size like 500MB, 100G or 1.5GiB, "
                                 f"got {text!r}", param_hint=option)
    number, unit, binary = match.groups()
    return round(float(number) * (1024 if binary else 1000) ** POWERS[unit])


def show_duration(seconds: float) -> str:
    """``1d 2h``, ``2h 30m``, ``5m 10s`` or ``45s``: the two largest units."""
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count or (unit == "s" and not parts):
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2])


def show_size(count: float) -> str:
    """Bytes in decimal units: ``0 B``, ``950 kB``, ``1.5 GB``."""
    for unit, power in (("TB", 4), ("GB", 3), ("MB", 2), ("kB", 1)):
        if abs(count) >= 1000 ** power:
            return f"{count / 1000 ** power:.1f}".removesuffix(".0") + f" {unit}"
    return f"{int(count)} B"
