"""Time buckets for charts: N equal buckets over ``[since, until)``, each with its count,
min, max and mean, so a spike inside a bucket survives the downsampling."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

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
    """Non-empty buckets per group, in time order; ``sel`` must bound since and until."""
    assert sel.since is not None and sel.until is not None
    width = (sel.until - sel.since) / count
    position = (Result.ts - sel.since) / width
    postgres = db.get_bind().dialect.name == "postgresql"
    # CAST truncates on SQLite (positions are never negative) but rounds on PostgreSQL.
    index = cast(func.floor(position) if postgres else position, Integer).label("b")
    groups = group_columns(db, sel, keys)
    value = Result.value_num
    query = (select(*groups, index, func.count(), func.count(value), func.min(value),
                    func.max(value), func.avg(value))
             .where(*sel.where()).group_by(*groups, index))
    series: dict[Key, dict[int, Bucket]] = {}
    n = len(groups)
    for row in db.execute(query):
        bucket = Bucket(min(row[n], count - 1), *row[n + 1:])
        found = series.setdefault(tuple(row[:n]), {})
        if bucket.index in found:  # a value a rounding error put one bucket past the end
            found[bucket.index].merge(bucket)
        else:
            found[bucket.index] = bucket
    return {key: [b[i] for i in sorted(b)] for key, b in series.items()}
