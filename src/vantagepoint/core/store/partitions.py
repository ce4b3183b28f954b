"""Weekly range partitions of ``results`` by ``ts`` on PostgreSQL (migration 0021).

Why weeks: retention drops whole partitions, so a partition is the unit of expiry;
a week keeps that within 7 days of the asked age while keeping the count small
(52 a year): the execution page's queries carry no time range, so they probe every
partition's index, and planning time grows with the number of partitions.

Bounds are half-open ``[start, start + WEEK)`` in epoch seconds, weeks starting on
Monday 00:00 UTC; a partition is named after its first day (``results_p20261130``).
``results_default`` takes any other ts (a node with a wrong clock, old spooled data),
so an insert is never refused. SQLite keeps one plain table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

WEEK = 7 * 86400.0
MONDAY = 4 * 86400.0  # 1970-01-01 was a Thursday; weeks start on Monday 1970-01-05
DEFAULT = "results_default"
AHEAD_WEEKS = 4  # partitions kept ready ahead of now, so a week's first rows never wait
_BOUNDS = re.compile(r"FROM \('?([-0-9.e+]+)'?\) TO \('?([-0-9.e+]+)'?\)")


@dataclass(frozen=True)
class Partition:
    """One weekly partition: its table name and ``[start, end)`` in epoch seconds."""

    name: str
    start: float
    end: float


def week_start(ts: float) -> float:
    """Start of the week (Monday 00:00 UTC) holding ``ts``."""
    return MONDAY + ((ts - MONDAY) // WEEK) * WEEK


def partition_name(start: float) -> str:
    return "results_p" + datetime.fromtimestamp(start, UTC).strftime("%Y%m%d")


def is_partitioned(conn: Connection) -> bool:
    """Whether ``results`` is a partitioned table (PostgreSQL after migration 0021)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.scalar(text(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = 'results' AND c.relnamespace = current_schema()::regnamespace")))


def partitions(conn: Connection) -> list[Partition]:
    """The weekly partitions, oldest first (the default partition is not among them)."""
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'results'::regclass"))
    found = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match:
            found.append(Partition(name, float(match[1]), float(match[2])))
    return sorted(found, key=lambda p: p.start)


def ensure_ahead(conn: Connection, now: float, ahead: int = AHEAD_WEEKS) -> list[str]:
    """Create the partitions of this week and the next ``ahead`` weeks; return new names."""
    return ensure(conn, now, now + ahead * WEEK)


def ensure(conn: Connection, first: float, last: float) -> list[str]:
    """Create any missing partition of the weeks from ``first`` to ``last``; new names."""
    have = {p.start for p in partitions(conn)}
    made = []
    start = week_start(first)
    while start <= last:
        if start not in have:
            create_week(conn, start)
            made.append(partition_name(start))
        start += WEEK
    return made


def create_week(conn: Connection, start: float) -> None:
    """Create the partition of the week from ``start``, moving in rows the default holds.

    PostgreSQL refuses a new partition whose range has rows in the default partition,
    so those rows are moved into the new table before it is attached.
    """
    name, end = partition_name(start), start + WEEK
    bounds = {"lo": start, "hi": end}
    # DDL waiting for its lock blocks the ingest queued behind it: wait briefly, retry later.
    conn.execute(text("SET LOCAL lock_timeout = '3s'"))
    stray = conn.scalar(text(f"SELECT 1 FROM {DEFAULT} WHERE ts >= :lo AND ts < :hi LIMIT 1"),
                        bounds)
    if not stray:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF results "
                          f"FOR VALUES FROM ({start!r}) TO ({end!r})"))
        return
    conn.execute(text(f"CREATE TABLE {name} (LIKE results INCLUDING DEFAULTS)"))
    conn.execute(text(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts >= :lo AND ts < :hi "
                      f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"), bounds)
    conn.execute(text(f"ALTER TABLE results ATTACH PARTITION {name} "
                      f"FOR VALUES FROM ({start!r}) TO ({end!r})"))


def drop(conn: Connection, partition: Partition) -> int:
    """Drop one partition with its rows; return how many rows it held."""
    rows = conn.scalar(text(f"SELECT count(*) FROM {partition.name}")) or 0
    conn.execute(text("SET LOCAL lock_timeout = '3s'"))
    conn.execute(text(f"DROP TABLE {partition.name}"))
    return int(rows)
