"""The dashboard's queries over a fleet-sized, partitioned results table on PostgreSQL.

A fresh database gets the real schema (the migrations), weekly partitions over the
span (as the storage duty would have made them), then ``--rows`` results made in SQL
(INSERT ... SELECT over generate_series, one statement per week or per batch of
executions): 70 % background ping of every node's two interfaces over ``--weeks``
weeks, 30 % executions of ten nodes each (ping rtt_ms at 1 Hz, throughput and loss
at 0.2 Hz, for an hour), spread over the span. Each query is run through the
product's own function, ``--repeat`` times (median, after a warm-up).

Prints one figure per line:
  rows, load_s, rows_per_s  results loaded (keys and indexes set aside, then built:
                            index_s; the same definitions as the migrations', checked)
  db_gb, partitions
  exec_summary_ms        execution page: per action and name, count and time range
  exec_chart_ms          execution page: one node's rtt_ms series in 600 buckets
  exec_cdf_ms            execution page: that series' CDF
  exec_stats_ms          execution page: min/mean/max per node, action and name
  exec_log_ms            execution page: the first 200 log lines
  exec_results_page_ms   GET /results?execution=: first page of 1000, then the next
  node_rtt_day_ms        node page: background RTT per interface, last day
  node_rtt_week_ms       the same over the last week
  stats_week_ms          analysis: one node's rtt_ms over a week, with percentiles
  buckets_week_ms        analysis: the same in 500 buckets
  stream_poll_ms         the live stream's read of results above an id

Usage: python bench/storage.py [--rows N | --small] [--weeks W] [--repeat R]
       [--admin-url URL] [--keep] [--explain]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from vantagepoint.config import CoreSettings
from vantagepoint.core.analysis.buckets import bucketize
from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.analysis.stats import summarize
from vantagepoint.core.api.executions import logs
from vantagepoint.core.api.results import query_results
from vantagepoint.core.store import partitions
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Result, User
from vantagepoint.web.data import node_rtt
from vantagepoint.web.series import downsample, one_result, one_series, quantiles, stats, summary

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DAY, WEEK = 86400, 7 * 86400
IFACES = 2
EXEC_NODES = 10


def main() -> None:
    args = _args()
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    name = f"vp_bench_storage_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        figures = run(url, args)
    finally:
        if not args.keep:
            _retrying(_drop, admin, name)
        admin.dispose()
    for key, value in figures.items():
        print(f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}")


def _drop(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--small", action="store_true", help="A tiny run (the smoke test).")
    parser.add_argument("--weeks", type=int, default=13, help="Span of the data, weeks.")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="Runs per query; the median.")
    parser.add_argument("--admin-url", default=ADMIN_URL,
                        help="A PostgreSQL database to create the bench database from.")
    parser.add_argument("--keep", action="store_true", help="Keep the database at the end.")
    parser.add_argument("--explain", action="store_true",
                        help="Print each query's EXPLAIN to stderr.")
    args = parser.parse_args()
    if args.small:
        args.rows, args.weeks, args.nodes, args.repeat = 60_000, 3, 100, 1
    args.duration = 600 if args.small else 3600
    return args


def run(url: str, args) -> dict[str, object]:
    engine = make_engine(url)
    _retrying(migrate, engine)
    sessions = make_sessionmaker(engine)
    now = time.time()
    t0 = partitions.week_start(now) - (args.weeks - 1) * WEEK
    shape = _load(engine, args, t0, now)
    figures: dict[str, object] = dict(shape)
    with engine.connect() as conn:
        figures["db_gb"] = round(conn.scalar(text(
            "SELECT pg_database_size(current_database())")) / 1e9, 2)
        figures["partitions"] = len(partitions.partitions(conn))
    figures.update(_queries(engine, sessions, args, shape, now))
    engine.dispose()
    return figures


def _load(engine, args, t0: float, now: float) -> dict[str, object]:
    """Make the fleet's results in SQL; return the shape (what the queries ask for)."""
    bg_rows = int(args.rows * 0.7)
    samples = max(1, bg_rows // (args.nodes * IFACES))
    step = (now - t0) / samples
    per_exec = EXEC_NODES * (args.duration + 2 * args.duration // 5)
    executions = max(1, (args.rows - samples * args.nodes * IFACES) // per_exec)
    start = time.perf_counter()
    _retrying(_prepare, engine, args.nodes, executions, t0, now, args.duration)
    keys = _retrying(_drop_keys, engine)
    _background(engine, args.nodes, samples, t0, step)
    _executions(engine, args.nodes, executions, t0, now, args.duration)
    loaded = time.perf_counter()
    _retrying(_restore_keys, engine, keys)
    rows = _retrying(_analyze, engine)
    end = time.perf_counter()
    return {"rows": rows, "load_s": round(loaded - start, 1),
            "rows_per_s": int(rows / (loaded - start)), "index_s": round(end - loaded, 1),
            "executions": executions, "bg_step_s": round(step, 1)}


def _keys(conn) -> dict[str, list[tuple[str, str]]]:
    """The results table's keys and indexes as the migrations made them."""
    constraints = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'results'::regclass AND contype IN ('p', 'u') ORDER BY 1")).all()
    named = {name for name, _ in constraints}
    indexes = conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'results' "
        "ORDER BY 1")).all()
    return {"constraints": [tuple(r) for r in constraints],
            "indexes": [tuple(r) for r in indexes if r[0] not in named]}


def _drop_keys(engine) -> dict[str, list[tuple[str, str]]]:
    """Set the keys and indexes aside for the load (built once after, as a bulk load does)."""
    with engine.begin() as conn:
        keys = _keys(conn)
        for name, _ in keys["indexes"]:
            conn.execute(text(f"DROP INDEX {name}"))
        for name, _ in keys["constraints"]:
            conn.execute(text(f"ALTER TABLE results DROP CONSTRAINT {name}"))
    return keys


def _restore_keys(engine, keys: dict[str, list[tuple[str, str]]]) -> None:
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for name, definition in keys["constraints"]:
            conn.execute(text(f"ALTER TABLE results ADD CONSTRAINT {name} {definition}"))
        for _, definition in keys["indexes"]:  # ON ONLY would skip the partitions
            conn.execute(text(definition.replace(" ON ONLY ", " ON ")))
        if _keys(conn) != keys or conn.scalar(text(
                "SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indrelid "
                "WHERE h.inhparent = 'results'::regclass AND NOT i.indisvalid")):
            raise RuntimeError("the results table's keys differ from the migrations' ones")


def _retrying(step, *args):
    """Run one transaction's step again when the server restarted under it (rolled back,
    so a retry stores it once); this shared machine's PostgreSQL is restarted now and then."""
    for attempt in range(30):
        try:
            return step(*args)
        except OperationalError as exc:
            if attempt == 29:
                raise
            print(f"retrying after: {str(exc).splitlines()[0]}", file=sys.stderr, flush=True)
            time.sleep(5)
    return None


def _prepare(engine, nodes: int, executions: int, t0: float, now: float,
             duration: int) -> None:
    with engine.begin() as conn:
        partitions.ensure(conn, t0, now)  # what the duty made, week by week
        _fleet(conn, nodes, executions, t0, now, duration)


def _analyze(engine) -> int:
    """VACUUM ANALYZE, as autovacuum does to an insert-only table: statistics, and the
    visibility map that lets the queries read from the indexes alone."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) results"))
        return conn.scalar(text("SELECT count(*) FROM results"))


def _fleet(conn, nodes: int, executions: int, t0: float, now: float, duration: int) -> None:
    conn.execute(text("INSERT INTO users (id, name, is_admin, created_at) "
                      "VALUES (1, 'bench', true, now())"))
    conn.execute(text(
        "INSERT INTO nodes (name, interfaces, attributes, tools, tool_errors, agent_version, "
        "status, registered_at, last_seen) SELECT 'n' || n, "
        "'[{\"name\": \"op0\"}, {\"name\": \"op1\"}]', '{}', '[]', '{}', '1', 'active', "
        "now(), now() FROM generate_series(0, CAST(:n AS int) - 1) n"),
        {"n": nodes})
    conn.execute(text(
        "INSERT INTO executions (id, owner_id, scenario_name, scenario_version, snapshot, "
        "state, start_at, duration, created_at) SELECT j, 1, 'bench', 1, '{}', 'finished', "
        "to_timestamp(CAST(:t0 AS float8) + j * CAST(:gap AS float8)) AT TIME ZONE 'UTC', "
        ":d, now() "
        "FROM generate_series(1, CAST(:e AS int)) j"),
        {"t0": t0, "gap": _gap(executions, t0, now, duration), "d": duration, "e": executions})
    conn.execute(text(
        "INSERT INTO logs (execution_id, node_name, action, ts, level, message, spool_id, seq)"
        " SELECT j, 'n' || ((j * 10 + m % 10) % CAST(:n AS int)), 'ping', "
        "CAST(:t0 AS float8) + j * CAST(:gap AS float8) + m, 'info', "
        "'line ' || m, 'xlog-' || j, m FROM generate_series(1, CAST(:e AS int)) j, "
        "generate_series(1, 300) m"),
        {"n": nodes, "t0": t0, "gap": _gap(executions, t0, now, duration), "e": executions})


def _gap(executions: int, t0: float, now: float, duration: int) -> float:
    return max(duration, (now - t0 - duration) / (executions + 1))


def _background(engine, nodes: int, samples: int, t0: float, step: float) -> None:
    """Every node's background ping on each interface, one statement per chunk of time."""
    chunk = max(1, int(WEEK // step))
    for first in range(0, samples, chunk):
        last = min(samples, first + chunk) - 1
        params = {"a": first, "b": last, "n": nodes, "t0": t0, "step": step}
        _retrying(_insert, engine, [_BACKGROUND_SQL], params)
        print(f"background {last + 1}/{samples}", file=sys.stderr, flush=True)


def _insert(engine, statements: list[str], params: dict) -> None:
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        for statement in statements:
            conn.execute(text(statement), params)


_BACKGROUND_SQL = (
    "INSERT INTO results (execution_id, node_name, action, name, ts, value, "
    "value_num, spool_id, seq, background) "
    "SELECT NULL, 'n' || n, 'background-ping.op' || i, 'rtt_ms', ts, to_json(v), "
    "v, 'bg-n' || n, k * 2 + i + 1, true "
    "FROM generate_series(CAST(:a AS int), CAST(:b AS int)) k, "
    "generate_series(0, CAST(:n AS int) - 1) n, generate_series(0, 1) i, "
    "LATERAL (SELECT CAST(:t0 AS float8) + k * CAST(:step AS float8) "
    "+ (n % 97) * 0.01 + i * 0.001 AS ts) t, "
    "LATERAL (SELECT round((20 + 10 * i + 15 * random())::numeric, 3)::float8 "
    "+ 0 * k AS v) r")


def _executions(engine, nodes: int, executions: int, t0: float, now: float,
                duration: int) -> None:
    """Each execution: ten nodes; ping rtt_ms at 1 Hz; throughput and loss at 0.2 Hz."""
    gap = _gap(executions, t0, now, duration)
    batch = max(1, 2_000_000 // (EXEC_NODES * duration))
    for first in range(1, executions + 1, batch):
        last = min(executions, first + batch - 1)
        params = {"a": first, "b": last, "n": nodes, "t0": t0, "gap": gap, "d": duration}
        _retrying(_insert, engine, [_PING_SQL, _TCP_SQL], params)
        print(f"executions {last}/{executions}", file=sys.stderr, flush=True)


_EXEC_SQL = (
    "INSERT INTO results (execution_id, node_name, action, name, ts, value, value_num, "
    "spool_id, seq, background) "
    "SELECT j, 'n' || ((j * 10 + m) % CAST(:n AS int)), '{action}', nm, ts, to_json(v), v, "
    "'x{action}-' || j || '-' || m, s * 2 + q + 1, false "
    "FROM generate_series(CAST(:a AS int), CAST(:b AS int)) j, generate_series(0, 9) m, "
    "generate_series(0, CAST(:d AS int) / {every} - 1) s, generate_series(0, 1) q, "
    "LATERAL (SELECT CAST(:t0 AS float8) + j * CAST(:gap AS float8) + s * {every} "
    "+ m * 0.01 AS ts, {name} AS nm, "
    "round(({value})::numeric, 3)::float8 + 0 * s AS v) x "
    "WHERE '{action}' = 'tcp' OR q = 0")
_PING_SQL = _EXEC_SQL.format(action="ping", name="'rtt_ms'", every=1,
                             value="20 + 30 * random()")
_TCP_SQL = _EXEC_SQL.format(
    action="tcp", name="CASE WHEN q = 0 THEN 'throughput_mbps' ELSE 'loss_pct' END", every=5,
    value="CASE WHEN q = 0 THEN 50 * random() ELSE random() END")


def _queries(engine, sessions, args, shape, now: float) -> dict[str, float]:
    ex = max(1, int(shape["executions"]) // 2)  # one from the middle of the span
    node = f"n{(ex * 10) % args.nodes}"
    settings = CoreSettings(database_url=str(engine.url))
    with sessions() as db:
        admin = db.get(User, 1)
        rows = summary(db, ex)
        top = db.scalar(select(Result.id).order_by(Result.id.desc()).limit(1))
    ping = next(r for r in rows if r["name"] == "rtt_ms")
    week = Selection("rtt_ms", node=node, since=now - WEEK, until=now)
    queries = {
        "exec_summary": lambda db: summary(db, ex),
        "exec_chart": lambda db: downsample(db, one_series(ex, node, "ping", "rtt_ms"), 600,
                                            known_span=(ping["first"], ping["last"])),
        "exec_chart_span": lambda db: downsample(db, one_series(ex, node, "ping", "rtt_ms"),
                                                 600, span_scope=one_result(ex, "ping",
                                                                            "rtt_ms")),
        "exec_cdf": lambda db: quantiles(db, one_series(ex, node, "ping", "rtt_ms"), 600),
        "exec_stats": lambda db: stats(db, ex),
        "exec_log": lambda db: logs(ex, db, admin, after=0, limit=200),
        "exec_results_page": lambda db: _two_pages(db, admin, ex),
        "node_rtt_day": lambda db: node_rtt(node, db, settings, admin, since=now - DAY,
                                            until=now, points=600),
        "node_rtt_week": lambda db: node_rtt(node, db, settings, admin, since=now - WEEK,
                                             until=now, points=600),
        "stats_week": lambda db: summarize(db, week, [], [50, 90, 95, 99]),
        "buckets_week": lambda db: bucketize(db, week, [], 500),
        "stream_poll": lambda db: db.scalars(select(Result).where(Result.id > top - 500)
                                             .order_by(Result.id).limit(500)).all(),
    }
    return {f"{key}_ms": _retrying(_time, engine, sessions, key, query, args)
            for key, query in queries.items()}


def _two_pages(db, admin, ex: int):
    page = _page(db, admin, ex, 0)
    return _page(db, admin, ex, page.next_cursor or 0)


def _page(db, admin, ex: int, cursor: int):
    return query_results(db, admin, execution=ex, node=None, action=None, name=None,
                         since=None, until=None, cursor=cursor, limit=1000, background=False,
                         study=None, run=None)


def _time(engine, sessions, key: str, query, args) -> float:
    """Median milliseconds of ``repeat`` runs (each in its own session), after a warm-up."""
    runs = []
    for i in range(args.repeat + 1):
        seen: list[tuple[str, object]] = []
        listener = _capture(seen)
        if args.explain and i == 0:
            event.listen(engine, "before_cursor_execute", listener)
        with sessions() as db:
            begin = time.perf_counter()
            query(db)
            runs.append((time.perf_counter() - begin) * 1000)
        if args.explain and i == 0:
            event.remove(engine, "before_cursor_execute", listener)
            _explain(engine, key, seen)
    return round(statistics.median(runs[1:]), 2)


def _capture(seen: list):
    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))
    return listener


def _explain(engine, key: str, seen: list) -> None:
    with engine.connect() as conn:
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement,
                                        parameters).scalars().all()
            print(f"--- {key}\n" + "\n".join(plan), file=sys.stderr)


if __name__ == "__main__":
    main()
