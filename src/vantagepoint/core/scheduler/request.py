"""Checking a schedule request against the configured limits, and its occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import Span
from vantagepoint.errors import Invalid, Problem
from vantagepoint.wire import ScheduleCreate

START_TOLERANCE = timedelta(seconds=60)


def check_limits(req: ScheduleCreate, settings: CoreSettings, now: datetime) -> None:
    """Refuse a request outside the limits, listing every problem at once."""
    problems = _duration_problems(req, settings) + _time_problems(req, settings, now)
    if problems:
        raise Invalid("the schedule request is outside the limits", problems)


def _duration_problems(req: ScheduleCreate, s: CoreSettings) -> list[Problem]:
    problems = []
    if not s.min_duration_seconds <= req.duration <= s.max_duration_seconds:
        limits = f"{s.min_duration_seconds:g}..{s.max_duration_seconds:g} s"
        problems.append(Problem("/duration", f"{req.duration:g} s is outside {limits}"))
    if req.every is not None:
        if req.every < s.min_period_seconds:
            problems.append(Problem("/every", f"a period of {req.every:g} s is shorter than "
                                              f"the minimum {s.min_period_seconds:g} s"))
        if req.every < req.duration:
            problems.append(Problem("/every", "the period is shorter than the duration, so "
                                              "occurrences would overlap"))
        if req.until is None:
            problems.append(Problem("/until", "a periodic schedule needs an end (until)"))
        if req.mode == "low_priority":
            problems.append(Problem("/every", "low-priority schedules cannot repeat"))
    elif req.until is not None:
        problems.append(Problem("/until", "until only goes with every"))
    return problems


def _time_problems(req: ScheduleCreate, s: CoreSettings, now: datetime) -> list[Problem]:
    problems = []
    for field in ("start", "until"):
        value = getattr(req, field)
        if value is not None and value.tzinfo is None:
            problems.append(Problem(f"/{field}", "give a UTC time, e.g. 2026-12-01T12:00:00Z"))
    if problems:
        return problems
    horizon = now + timedelta(days=s.max_ahead_days)
    if req.mode == "at" and req.start is None:
        problems.append(Problem("/start", "mode 'at' needs a start"))
    if req.start is not None and req.start < now - START_TOLERANCE:
        problems.append(Problem("/start", f"{req.start.isoformat()} has passed"))
    if req.start is not None and req.start > horizon:
        problems.append(Problem("/start", f"more than {s.max_ahead_days:g} days ahead"))
    if req.until is not None:
        first = req.start or now
        if req.until - first > timedelta(days=s.max_span_days):
            problems.append(Problem("/until", f"the span is longer than {s.max_span_days:g} days"))
        if req.until <= first:
            problems.append(Problem("/until", "until is not after the start"))
    return problems


def occurrences(req: ScheduleCreate, first: datetime) -> list[Span]:
    """The spans of every occurrence if the first starts at ``first``."""
    length = timedelta(seconds=req.duration)
    if req.every is None:
        return [Span(first, first + length)]
    period = timedelta(seconds=req.every)
    spans, start = [], first
    while start < req.until:
        spans.append(Span(start, start + length))
        start += period
    return spans


def earliest_start(req: ScheduleCreate, settings: CoreSettings, now: datetime) -> datetime:
    """Where a search for the first start begins."""
    lead = now + timedelta(seconds=settings.min_lead_seconds)
    if req.mode == "at":
        return max(req.start, now)
    return max(req.start or lead, lead)
