"""Retention of results per result type, applied by the storage duty.

``retention_days`` maps a result name or a glob (``trace*``) to the days its
execution results are kept, and ``@background`` to the days the nodes' background
results are kept (any name). A result no rule names is kept forever. An exact name
beats a glob; among globs the longest wins.

On PostgreSQL a weekly partition whose every row is expired is dropped whole; what
remains expired (in a partly expired week, in the default partition, or on SQLite)
is deleted in batches of ``retention_batch`` rows, one transaction each, so no
statement holds locks or writes WAL without bound. No table refers to results, so
nothing else needs removing with them.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.orm import sessionmaker

from vantagepoint.core.store import partitions

log = logging.getLogger(__name__)
BACKGROUND = "@background"
DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    """The rules: name or glob (or ``@background``) -> days kept."""

    rules: dict[str, float] = field(default_factory=dict)

    def days(self, name: str, background: bool = False) -> float | None:
        """Days a result of this name is kept; None: forever."""
        if background:
            return self.rules.get(BACKGROUND)
        if name in self.rules:
            return self.rules[name]
        globs = sorted((p for p in self.rules if p != BACKGROUND and _is_glob(p)),
                       key=len, reverse=True)
        return next((self.rules[p] for p in globs if fnmatch.fnmatchcase(name, p)), None)

    def cutoff(self, now: float, name: str, background: bool = False) -> float | None:
        """Results older than this (epoch s) are expired; None: never."""
        days = self.days(name, background)
        return None if days is None else now - days * DAY

    def describe(self) -> list[dict[str, object]]:
        return [{"pattern": p, "days": d, "applies_to": "background results" if p == BACKGROUND
                 else "execution results"} for p, d in sorted(self.rules.items())]


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


@dataclass
class Removed:
    """What one run removed."""

    dropped: list[str] = field(default_factory=list)
    dropped_rows: int = 0
    deleted_rows: int = 0

    @property
    def rows(self) -> int:
        return self.dropped_rows + self.deleted_rows


def names(conn: Connection, table: str = "results") -> list[str]:
    """Distinct result names, one index probe each (a skip scan of ix_results_series)."""
    return list(conn.scalars(text(
        f"WITH RECURSIVE n(name) AS (SELECT min(name) FROM {table} UNION ALL "
        f"SELECT (SELECT min(name) FROM {table} WHERE name > n.name) FROM n "
        f"WHERE n.name IS NOT NULL) SELECT name FROM n WHERE name IS NOT NULL")))


def apply(sessions: sessionmaker, policy: Policy, now: float, batch: int,
          keep_going: Callable[[], bool] = lambda: True) -> Removed:
    """Remove every expired result, and nothing else."""
    removed = Removed()
    if not policy.rules:
        return removed
    with sessions.begin() as db:
        parted = partitions.is_partitioned(db.connection())
    if parted:
        _drop_expired_weeks(sessions, policy, now, removed)
    for predicate, params in _expired(sessions, policy, now):
        removed.deleted_rows += _delete_batches(sessions, parted, predicate, params, batch,
                                                keep_going)
    return removed


def _drop_expired_weeks(sessions: sessionmaker, policy: Policy, now: float,
                        removed: Removed) -> None:
    youngest = now - min(policy.rules.values()) * DAY  # no week ending later can expire
    with sessions.begin() as db:
        candidates = [p for p in partitions.partitions(db.connection()) if p.end <= youngest]
    for part in candidates:
        with sessions.begin() as db:
            conn = db.connection()
            # Locked before the look, so no row can arrive between the look and the drop.
            conn.execute(text("SET LOCAL lock_timeout = '3s'"))
            conn.execute(text(f"LOCK TABLE {part.name} IN ACCESS EXCLUSIVE MODE"))
            if _all_expired(conn, policy, now, part):
                removed.dropped_rows += partitions.drop(conn, part)
                removed.dropped.append(part.name)


def _all_expired(conn: Connection, policy: Policy, now: float,
                 part: partitions.Partition) -> bool:
    """Whether every row of the week is past its type's age (rows of kept types: no)."""
    def kept(cut: float | None) -> bool:
        return cut is None or cut < part.end

    if kept(policy.cutoff(now, "", background=True)) and conn.scalar(
            text(f"SELECT 1 FROM {part.name} WHERE background LIMIT 1")):
        return False
    for name in names(conn, part.name):
        if kept(policy.cutoff(now, name)) and conn.scalar(text(
                f"SELECT 1 FROM {part.name} WHERE name = :n AND NOT background LIMIT 1"),
                {"n": name}):
            return False
    return True


def _expired(sessions: sessionmaker, policy: Policy, now: float):
    """(predicate, parameters) for each expired set: one per named type, one background."""
    with sessions.begin() as db:
        found = names(db.connection())
    out = []
    for name in found:
        cut = policy.cutoff(now, name)
        if cut is not None:
            out.append(("name = :n AND NOT background AND ts < :cut", {"n": name, "cut": cut}))
    cut = policy.cutoff(now, "", background=True)
    if cut is not None:
        out.append(("background AND ts < :cut", {"cut": cut}))
    return out


def _delete_batches(sessions: sessionmaker, parted: bool, predicate: str, params: dict,
                    batch: int, keep_going: Callable[[], bool]) -> int:
    """Delete rows matching ``predicate``, ``batch`` at a time, each batch committed."""
    total = 0
    for table in _tables(sessions, parted, params["cut"]):
        while keep_going():
            with sessions.begin() as db:
                n = db.connection().execute(text(_delete_sql(table, parted, predicate)),
                                            {**params, "batch": batch}).rowcount
            total += n
            if n < batch:
                break
    return total


def _tables(sessions: sessionmaker, parted: bool, cut: float) -> list[str]:
    """Where expired rows may be: the weeks starting before ``cut`` and the default."""
    if not parted:
        return ["results"]
    with sessions.begin() as db:
        weeks = [p.name for p in partitions.partitions(db.connection()) if p.start < cut]
    return [*weeks, partitions.DEFAULT]


def _delete_sql(table: str, parted: bool, predicate: str) -> str:
    if parted:  # ctid = ANY(ARRAY(...)) is a TID scan; ctid IN (...) would scan the table
        return (f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} "
                f"WHERE {predicate} LIMIT :batch))")
    return (f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} "
            f"WHERE {predicate} LIMIT :batch)")
