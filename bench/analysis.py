"""Statistics and chart queries over many stored results, ms per query.

The table holds ``--rows`` results (default 10 million): one-week, 1 Hz
``rtt_ms`` series of several nodes, stored directly (executemany on SQLite,
COPY on PostgreSQL), not through the API. The queries read the series of one
node, as a chart and a statistics table do.

Prints one figure per line:
  rows                   results in the table
  series_rows            results in the queried series (one node, one week at 1 Hz)
  bucket_query_ms        that series in 500 buckets (count, min, max, mean per bucket)
  percentile_query_ms    p50, p90, p95, p99 and the summary of that series
  bucket_query_user_ms   the bucket query as a non-admin user (ownership filter)
  percentile_query_user_ms  the percentile query as a non-admin user

Usage: python bench/analysis.py [--rows N] [--repeat R] [--database-url URL [--reuse]]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import text

from vantagepoint.core.analysis.buckets import bucketize
from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.analysis.stats import summarize
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Execution, User

WEEK = 7 * 86400
T0 = 1_767_225_600.0  # 2026-01-01 UTC
COLUMNS = "execution_id, node_name, action, name, ts, value, value_num, spool_id, seq"


def main() -> None:
    args = _args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        migrate(engine)
        sessions = make_sessionmaker(engine)
        series = min(WEEK, args.rows)
        if args.reuse and _stored(engine):
            owner = 1  # the user of the run that filled it
        else:
            owner, execution = _owner_and_execution(sessions)
            _fill(engine, execution, args.rows, series)
        figures = {"rows": args.rows, "series_rows": series}
        for suffix, owner_id in (("", None), ("_user", owner)):
            sel = Selection("rtt_ms", node="n0", since=T0, until=T0 + series,
                            owner_id=owner_id)
            figures[f"bucket_query{suffix}_ms"] = _time(
                sessions, lambda db, s=sel: bucketize(db, s, [], 500), args.repeat)
            figures[f"percentile_query{suffix}_ms"] = _time(
                sessions, lambda db, s=sel: summarize(db, s, [], [50, 90, 95, 99]), args.repeat)
        engine.dispose()
    for name, value in figures.items():
        print(f"{name}={value:.1f}" if isinstance(value, float) else f"{name}={value}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="Runs per query; the median.")
    parser.add_argument("--database-url", default=None,
                        help="An empty database (default: a temporary SQLite file).")
    parser.add_argument("--reuse", action="store_true",
                        help="Query the database as an earlier run with the same --rows "
                             "left it, without storing rows again.")
    return parser.parse_args()


def _owner_and_execution(sessions) -> tuple[int, int]:
    with sessions.begin() as db:
        user = User(name="bench")
        db.add(user)
        db.flush()
        ex = Execution(owner_id=user.id, scenario_name="bench", scenario_version=1,
                       snapshot={}, state="finished", duration=float(WEEK),
                       start_at=datetime.fromtimestamp(T0, UTC))
        db.add(ex)
        db.flush()
        return user.id, ex.id


def _rows(execution: int, total: int, series: int):
    """Node n0's series first, then other nodes' series until ``total`` rows."""
    rng = random.Random(1)
    for i in range(total):
        node, second = divmod(i, series)
        value = round(20 + 10 * math.sin(second / 3600) + rng.expovariate(0.5), 3)
        yield (execution, f"n{node}", "ping", "rtt_ms", T0 + second, repr(value), value,
               f"spool-n{node}", second + 1)


def _fill(engine, execution: int, total: int, series: int) -> None:
    rows = _rows(execution, total, series)
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur, cur.copy(f"COPY results ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join("?" * len(COLUMNS.split(",")))
            cur = raw.cursor()
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO results ({COLUMNS}) VALUES ({placeholders})", rows)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM results")).scalar_one()


def _time(sessions, query, repeat: int) -> float:
    """Median milliseconds of ``repeat`` runs (each in its own session), after a warm-up."""
    runs = []
    for _ in range(repeat + 1):
        with sessions() as db:
            start = time.perf_counter()
            query(db)
            runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs[1:])


if __name__ == "__main__":
    main()
