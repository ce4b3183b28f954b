"""Statistics and time buckets over results, only from executions the caller may see."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from vantagepoint.core.analysis.buckets import bucketize, time_range
from vantagepoint.core.analysis.selection import Selection, parse_group_keys
from vantagepoint.core.analysis.stats import GroupStats, key_order, summarize
from vantagepoint.core.api.deps import CurrentUser, SessionDep
from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.tools import NAME_PATTERN
from vantagepoint.wire_analysis import (
    BucketOut,
    BucketsOut,
    GroupStatsOut,
    SeriesOut,
    StatsOut,
)

router = APIRouter(prefix="/stats", tags=["analysis"])
DEFAULT_PERCENTILES = "50,90,95,99"
MAX_PERCENTILES = 20


def filters(user: CurrentUser, execution: int | None = None, node: str | None = None,
            action: str | None = None,
            since: float | None = Query(None, description="Epoch seconds, inclusive."),
            until: float | None = Query(None, description="Epoch seconds, exclusive.")
            ) -> Selection:
    """The query's filters (no result name yet) as the calling user may see them."""
    if since is not None and until is not None and until <= since:
        raise Invalid("the time range is empty", [Problem("query:until", "must be after since")])
    return Selection.for_user(user, name=None, execution=execution, node=node, action=action,
                              since=since, until=until)


FiltersDep = Annotated[Selection, Depends(filters)]


def selection(base: FiltersDep,
              name: str = Query(pattern=NAME_PATTERN, description="The result name.")
              ) -> Selection:
    return base.named(name)


SelectionDep = Annotated[Selection, Depends(selection)]
ByQuery = Annotated[list[str], Query(
    description="Group keys: node, interface, action, execution, param:<name> "
                "(repeat or comma-separate).")]


def parse_percentiles(text: str) -> list[float]:
    """``50,90,99.9`` as numbers in [0, 100]; Invalid names the bad part."""
    found: list[float] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            q = float(part)
        except ValueError:
            q = -1.0
        if not 0 <= q <= 100:
            raise Invalid("bad percentiles", [Problem("query:percentiles",
                                                      f"{part!r} is not a number in 0..100")])
        if q not in found:
            found.append(q)
    if len(found) > MAX_PERCENTILES:
        raise Invalid("bad percentiles", [Problem("query:percentiles",
                                                  f"at most {MAX_PERCENTILES}")])
    return found


def _label(q: float) -> str:
    return f"{q:g}"


def _group_out(keys: list[str], g: GroupStats) -> GroupStatsOut:
    return GroupStatsOut(
        key=dict(zip(keys, g.key, strict=True)), count=g.count, numeric=g.numeric,
        min=g.min, max=g.max, mean=g.mean, stddev=g.stddev,
        percentiles={_label(q): v for q, v in g.percentiles.items()},
        sent=g.sent, received=g.received, loss_pct=g.loss_pct)


@router.get("", summary="Statistics of a result")
def stats(db: SessionDep, sel: SelectionDep, by: ByQuery = [],  # noqa: B006
          percentiles: str = Query(DEFAULT_PERCENTILES,
                                   description="Comma-separated, each in 0..100.")
          ) -> StatsOut:
    """Count, min, max, mean, standard deviation, percentiles and packet loss per group."""
    keys = parse_group_keys(by)
    groups = summarize(db, sel, keys, parse_percentiles(percentiles))
    return StatsOut(name=sel.name, by=keys, since=sel.since, until=sel.until,
                    groups=[_group_out(keys, g) for g in groups])


@router.get("/buckets", summary="A result in time buckets")
def buckets(db: SessionDep, sel: SelectionDep, by: ByQuery = [],  # noqa: B006
            buckets: int = Query(500, ge=1, le=10000, description="How many buckets.")
            ) -> BucketsOut:
    """``[since, until)`` cut into equal buckets with count, min, max and mean, for charts.

    Without since or until, the range the matching results span is taken.
    """
    keys = parse_group_keys(by)
    if sel.since is None or sel.until is None:
        span = time_range(db, sel)
        if span is None:
            return BucketsOut(name=sel.name, by=keys, since=sel.since, until=sel.until,
                              width=None, buckets=buckets, series=[])
        sel = replace(sel, since=span[0] if sel.since is None else sel.since,
                      until=span[1] if sel.until is None else sel.until)
    width = (sel.until - sel.since) / buckets
    found = bucketize(db, sel, keys, buckets)
    series = [SeriesOut(key=dict(zip(keys, key, strict=True)),
                        buckets=[BucketOut(start=sel.since + b.index * width, count=b.count,
                                           numeric=b.numeric, min=b.min, max=b.max,
                                           mean=b.mean) for b in found[key]])
              for key in sorted(found, key=key_order)]
    return BucketsOut(name=sel.name, by=keys, since=sel.since, until=sel.until, width=width,
                      buckets=buckets, series=series)
