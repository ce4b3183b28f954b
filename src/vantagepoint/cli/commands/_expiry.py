"""``--expires`` of the token commands: a duration from now or an RFC 3339 time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from vantagepoint.cli.commands._units import DURATION, PLAIN_NUMBER, parse_duration, parse_time


def parse_expires(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30d``, ``12h``, ``+1h30m`` (from now) or ``2027-01-01T00:00:00Z``."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    value = text.strip().lower().removeprefix("+")
    if DURATION.fullmatch(value) or PLAIN_NUMBER.fullmatch(value):
        return now + timedelta(seconds=parse_duration(value, "--expires"))
    moment = parse_time(text, "--expires", now)
    if moment <= now:
        raise typer.BadParameter(f"{text!r} is in the past", param_hint="--expires")
    return moment
