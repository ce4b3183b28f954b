"""Times as the analysis commands take them: epoch seconds, RFC 3339, ``now``, ``-2h``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import typer

from vantagepoint.cli.commands._units import parse_duration, parse_time

EPOCH = re.compile(r"\d+(?:\.\d+)?")


def parse_moment(text: str | None, option: str, now: datetime | None = None) -> float | None:
    """Epoch seconds from ``1767225600``, RFC 3339, ``now`` or a time ago like ``-2h``."""
    if text is None:
        return None
    value = text.strip()
    if EPOCH.fullmatch(value):
        return float(value)
    now = now or datetime.now(UTC)
    if value.startswith("-"):
        return now.timestamp() - parse_duration(value[1:], option)
    try:
        return parse_time(value, option, now).timestamp()
    except typer.BadParameter:
        raise typer.BadParameter(f"expected epoch seconds, an RFC 3339 time, 'now' or a time "
                                 f"ago like -2h, got {text!r}", param_hint=option) from None
