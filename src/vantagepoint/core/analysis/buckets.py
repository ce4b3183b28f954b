"""Time buckets for charts: N equal buckets over ``[since, until)``, each with its count,
min, max and mean, so a spike inside a bucket survives the downsampling."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sqlalchemy import Integer, bindparam, cast, func, literal_column, select
from sqlalchemy.orm import Session

from vantagepoint.core.analysis.plain import PlainQuery
from vantagepoint.core.analysis.selection import Selection, group_columns
from vantagepoint.core.analysis.stats import Key
from vantagepoint.core.store.models import Result


@dataclass
class Bucket:
    index: int
    count: int
    numeric: int
    min: float | None
    max: float | None
    mean: float | None

    def merge(self, other: Bucket) -> None:
        """Fold another bucket's figures into this one."""
        total = self.numeric + other.numeric
        if other.numeric:
            self.min = other.min if self.min is None else min(self.min, other.min)
            self.max = other.max if self.max is None else max(self.max, other.max)
            self.mean = ((self.mean or 0.0) * self.numeric + other.mean * other.numeric) / total
        self.count += other.count
        self.numeric = total


def time_range(db: Session, sel: Selection) -> tuple[float, float] | None:
    """The range the selection's results span, end exclusive; None when there are none."""
    low, high = db.execute(select(func.min(Result.ts), func.max(Result.ts))
                           .where(*sel.where())).one()
    if low is None:
        return None
    return low, math.nextafter(high, math.inf)


def bucketize(db: Session, sel: Selection, keys: list[str],
              count: int) -> dict[Key, list[Bucket]]:
    """Non-empty buckets per group, in time order; ``sel`` must bound since and until.

    PostgreSQL groups by the bucket index in one query (a hash aggregate). SQLite
    would sort every row for that GROUP BY; one indexed range query per bucket reads
    the same rows in index order and sorts nothing, which is about twice as fast.
    """
    assert sel.since is not None and sel.until is not None
    groups = group_columns(db, sel, keys)
    if db.get_bind().dialect.name == "postgresql":
        rows = _grouped(db, sel, groups, count)
    else:
        rows = _per_bucket(db, sel, groups, count)
    series: dict[Key, dict[int, Bucket]] = {}
    n = len(groups)
    for row in rows:
        bucket = Bucket(min(row[n], count - 1), *row[n + 1:])
        found = series.setdefault(tuple(row[:n]), {})
        if bucket.index in found:  # a value a rounding error put one bucket past the end
            found[bucket.index].merge(bucket)
        else:
            found[bucket.index] = bucket
    return {key: [b[i] for i in sorted(b)] for key, b in series.items()}


def _figures():
    value = Result.value_num
    return [func.count(), func.count(value), func.min(value), func.max(value), func.avg(value)]


def _grouped(db: Session, sel: Selection, groups, count: int):
    width = (sel.until - sel.since) / count
    index = cast(func.floor((Result.ts - sel.since) / width), Integer).label("b")
    return db.execute(select(*groups, index, *_figures()).where(*sel.where())
                      .group_by(*groups, index))


def _per_bucket(db: Session, sel: Selection, groups, count: int):
    lo, hi = bindparam("lo"), bindparam("hi")
    # Only the bucket's edges bound ts, so the index range is the bucket, not the whole.
    unbounded = replace(sel, since=None, until=None)
    query = select(*groups, literal_column("0"), *_figures()).where(
        *unbounded.where(), Result.ts >= lo, Result.ts < hi)
    if groups:
        query = query.group_by(*groups)
    edges = [sel.since + i * (sel.until - sel.since) / count for i in range(count)]
    edges.append(sel.until)
    # Compiled once and run as plain SQL: per-statement ORM overhead would be a third
    # of the time over hundreds of small range queries.
    plain = PlainQuery(db, query)
    n = len(groups)
    for i in range(count):
        for row in plain.run(lo=edges[i], hi=edges[i + 1]):
            if row[n + 1]:
                yield (*row[:n], i, *row[n + 1:])
