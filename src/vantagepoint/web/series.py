"""Result series for charts, reduced in the database so a page never ships raw rows.

A time series becomes at most ``points`` buckets of equal width, each with its
first timestamp and the min, mean and max of the values in it; a CDF becomes
at most ``points`` quantiles. Only numeric results (``value_num``) are charted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.orm import Session

from vantagepoint.core.store.models import Result

MAX_POINTS = 2000
# Narrows a query over results: which execution, node, action, name, time range, owner.
Scope = Callable[[Select], Select]


@dataclass(frozen=True)
class Buckets:
    """Columns for a min/mean/max chart of one series."""

    ts: list[float]
    low: list[float]
    mean: list[float]
    high: list[float]
    count: int

    def to_dict(self) -> dict:
        return {"ts": self.ts, "min": self.low, "mean": self.mean, "max": self.high,
                "count": self.count}


def one_result(execution_id: int, action: str, name: str) -> Scope:
    """One result name of one action of an execution (the index covers it)."""
    def scope(query):
        return query.where(Result.execution_id == execution_id, Result.action == action,
                           Result.name == name)
    return scope


def one_series(execution_id: int, node: str, action: str, name: str) -> Scope:
    """That result on one node."""
    def scope(query):
        return one_result(execution_id, action, name)(query).where(Result.node_name == node)
    return scope


def numeric(query: Select, scope: Scope) -> Select:
    return scope(query.where(Result.value_num.is_not(None)))


def span(db: Session, scope: Scope) -> tuple[float, float, int] | None:
    """First and last timestamp and the number of results in scope."""
    row = db.execute(scope(select(func.min(Result.ts), func.max(Result.ts),
                                  func.count()))).one()
    return None if row[2] == 0 else (row[0], row[1], row[2])


def downsample(db: Session, scope: Scope, points: int, group=None,
               span_scope: Scope | None = None,
               known_span: tuple[float, float] | None = None) -> dict[str, Buckets]:
    """Equal-width buckets per group (e.g. per action); one group '' when ``group`` is None.

    ``span_scope`` may be a wider, cheaper scope (one the index covers) for finding
    the time range the buckets divide; ``known_span`` is that range when the caller
    has it already (no query then).
    """
    found = known_span or span(db, span_scope or scope)
    if found is None:
        return {}
    first, last = found[0], found[1]
    width = max((last - first) / max(points, 1), 1e-9)
    bucket = func.floor((Result.ts - first) / width)
    key = group if group is not None else literal_column("''")
    query = numeric(select(key, bucket, func.min(Result.ts), func.min(Result.value_num),
                           func.avg(Result.value_num), func.max(Result.value_num),
                           func.count()), scope)
    query = query.group_by(*([group] if group is not None else []), bucket).order_by(bucket)
    out: dict[str, dict[str, list]] = {}
    for name, _, ts, low, mean, high, count in db.execute(query):
        cols = out.setdefault(name or "", {"ts": [], "low": [], "mean": [], "high": [], "n": 0})
        for col, value in (("ts", ts), ("low", low), ("mean", mean), ("high", high)):
            cols[col].append(round(float(value), 6))
        cols["n"] += count
    return {name: Buckets(c["ts"], c["low"], c["mean"], c["high"], c["n"])
            for name, c in out.items()}


def quantiles(db: Session, scope: Scope, points: int) -> dict:
    """The empirical CDF as (value, fraction) pairs, at most ``points`` of them."""
    values = db.scalars(numeric(select(Result.value_num), scope)
                        .order_by(Result.value_num)).all()
    n = len(values)
    if n == 0:
        return {"value": [], "fraction": [], "count": 0}
    step = max(1, n // points)
    picks = list(range(step - 1, n, step))
    if picks[-1] != n - 1:
        picks.append(n - 1)
    return {"value": [values[i] for i in picks], "fraction": [(i + 1) / n for i in picks],
            "count": n}


def summary(db: Session, execution_id: int) -> list[dict]:
    """Per action and result name: how many results and when; read from the index alone."""
    query = (select(Result.action, Result.name, func.count(), func.min(Result.ts),
                    func.max(Result.ts))
             .where(Result.execution_id == execution_id)
             .group_by(Result.action, Result.name).order_by(Result.action, Result.name))
    keys = ("action", "name", "count", "first", "last")
    return [dict(zip(keys, row, strict=True)) for row in db.execute(query)]


def stats(db: Session, execution_id: int) -> list[dict]:
    """Per node, action and result name: the range and mean of the numeric values."""
    query = (select(Result.node_name, Result.action, Result.name, func.count(Result.value_num),
                    func.min(Result.value_num), func.avg(Result.value_num),
                    func.max(Result.value_num))
             .where(Result.execution_id == execution_id)
             .group_by(Result.action, Result.name, Result.node_name))
    keys = ("node", "action", "name", "numeric", "min", "mean", "max")
    return [dict(zip(keys, row, strict=True)) for row in db.execute(query)]
