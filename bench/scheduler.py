"""Scheduler allocation speed: plan() + book() per request, each in its own transaction.

Prints one figure per line:
  alloc_s_per_schedule   published timing test: mean seconds to allocate one of 48 schedules
                         (earliest, every 6 h, 124 occurrences of 5 min, on all of 24 nodes)
  alloc_s_max            the slowest of those 48 allocations
  single_node_req_per_s  1,000 nodes and 100,000 bookings: earliest 10-min requests on one
                         random node from a random start within 30 days, each booked
  filtered_50_req_per_s  the same calendar: earliest requests for 50 nodes of 'type=deployed'
  first_fit_p50_ms       latency of the single-node requests, median
  first_fit_p99_ms       ... and 99th percentile
  single_node_req_per_s_<n>, first_fit_p99_ms_<n>
                         the single-node figures at n = 10k, 100k, 1m existing bookings (each
                         in a fresh database; the unsuffixed figures are those of 100k)

The core process's collector settings apply (vantagepoint.core.runtime.tune_gc), as the
scheduler runs under them in the core.

Usage: python bench/scheduler.py [--requests N] [--filtered N] [--no-1m] [--small]
                                 [--database-url postgresql+psycopg://user@host/postgres]
With --database-url every testbed gets a fresh database on that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from vantagepoint.config import CoreSettings
from vantagepoint.core.runtime import tune_gc
from vantagepoint.core.scheduler.allocate import book, lock_scheduler, plan
from vantagepoint.core.scheduler.registry import load_policies
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Booking, Node, Schedule, Spec, User
from vantagepoint.spec.tools import ResultSpec, ToolInfo
from vantagepoint.wire import ScheduleCreate

NOW = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
DAY, HOUR, MINUTE = 86400, 3600, 60
TOOL = ToolInfo(name="probe", version="1.0", config_schema={"type": "object"},
                results=[ResultSpec(name="rtt_ms")]).model_dump(mode="json")
SCENARIO = {"name": "bench", "roles": ["probe"], "status": "approved", "tasks": [
    {"name": "t", "actions": [{"name": "a", "node": "probe", "tool": "probe"}]}]}
COUNTRIES = ("se", "no", "it", "es", "de")
SETTINGS = CoreSettings(
    padding_seconds=120, min_duration_seconds=300, max_duration_seconds=86400,
    min_period_seconds=3600, max_span_days=31, max_ahead_days=40, min_lead_seconds=0,
    maintenance_windows=[], tool_exclusions=[], tool_max_instances={}, policies=None,
    default_node_seconds_quota=1e15, default_data_bytes_quota=10**18)


@dataclass(frozen=True)
class Sizes:
    nodes: int = 1000
    bookings: tuple[tuple[str, int], ...] = (("10k", 10_000), ("100k", 100_000),
                                            ("1m", 1_000_000))
    requests: int = 2000  # single-node requests per calendar size
    filtered: int = 100  # filtered requests (on the 100k calendar)
    count: int = 50  # nodes per filtered request
    published_nodes: int = 24
    published_schedules: int = 48
    occurrences: int = 124


SMALL = Sizes(nodes=100, bookings=(("10k", 100), ("100k", 1000), ("1m", 3000)), requests=30,
              filtered=3, count=5, published_nodes=4, published_schedules=3, occurrences=8)


def main() -> None:
    args = _args()
    tune_gc()
    sizes = SMALL if args.small else Sizes()
    sizes = replace(sizes, requests=args.requests or sizes.requests,
                    filtered=args.filtered if args.filtered is not None else sizes.filtered)
    if args.no_1m:
        sizes = replace(sizes, bookings=tuple(b for b in sizes.bookings if b[0] != "1m"))
    rng = random.Random(args.seed)
    policies = load_policies(SETTINGS)
    with tempfile.TemporaryDirectory() as tmp:
        figures = _published(args.database_url, tmp, sizes, policies)
        for label, bookings in sizes.bookings:
            figures.update(_loaded(args.database_url, tmp, sizes, label, bookings, rng,
                                   policies))
    for name, value in figures.items():
        print(f"{name}={value}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=None,
                        help="single-node requests per calendar size")
    parser.add_argument("--filtered", type=int, default=None, help="filtered requests")
    parser.add_argument("--no-1m", action="store_true", help="skip 1,000,000 bookings")
    parser.add_argument("--small", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server URL (default: SQLite files in a temp dir)")
    return parser.parse_args()


def _published(base: str | None, tmp: str, sizes: Sizes, policies) -> dict[str, str]:
    """The published timing test: periodic schedules on every node, one after another."""
    with _testbed(base, tmp, "published", sizes.published_nodes, 0, random.Random(0)) as bed:
        sessions, user_id, nodes = bed
        every = 6 * HOUR
        req = ScheduleCreate(scenario="bench", mode="earliest", start=NOW, duration=300,
                             every=every, until=NOW + timedelta(seconds=sizes.occurrences * every),
                             nodes=nodes)
        took = [_allocate(sessions, user_id, req, policies)
                for _ in range(sizes.published_schedules)]
    return {"alloc_s_per_schedule": f"{sum(took) / len(took):.4f}",
            "alloc_s_max": f"{max(took):.4f}"}


def _loaded(base: str | None, tmp: str, sizes: Sizes, label: str, bookings: int,
            rng: random.Random, policies) -> dict[str, str]:
    """Single-node (and, at 100k, filtered) earliest requests against a full calendar."""
    figures = {}
    with _testbed(base, tmp, label, sizes.nodes, bookings, rng) as (sessions, user_id, nodes):
        singles = [_request(rng, nodes=[rng.choice(nodes)]) for _ in range(sizes.requests)]
        rate, took = _run(sessions, user_id, singles, policies)
        p50, p99 = _percentile(took, 0.50) * 1e3, _percentile(took, 0.99) * 1e3
        figures[f"single_node_req_per_s_{label}"] = f"{rate:.1f}"
        figures[f"first_fit_p99_ms_{label}"] = f"{p99:.2f}"
        if label == "100k":
            filtered = [_request(rng, filter="type=deployed", count=sizes.count)
                        for _ in range(sizes.filtered)]
            filtered_rate = _run(sessions, user_id, filtered, policies)[0] if filtered else 0.0
            figures.update({"single_node_req_per_s": f"{rate:.1f}",
                            "filtered_50_req_per_s": f"{filtered_rate:.1f}",
                            "first_fit_p50_ms": f"{p50:.2f}", "first_fit_p99_ms": f"{p99:.2f}"})
    return figures


def _request(rng: random.Random, **nodes) -> ScheduleCreate:
    start = NOW + timedelta(seconds=rng.randrange(30 * DAY))
    return ScheduleCreate(scenario="bench", mode="earliest", start=start, duration=600, **nodes)


def _run(sessions, user_id: int, requests: list[ScheduleCreate],
         policies) -> tuple[float, list[float]]:
    """Requests per second over the whole run, and each request's seconds."""
    start = time.perf_counter()
    took = [_allocate(sessions, user_id, req, policies) for req in requests]
    return len(requests) / (time.perf_counter() - start), took


def _allocate(sessions, user_id: int, req: ScheduleCreate, policies) -> float:
    """Seconds to check and book one request in one transaction, commit included."""
    start = time.perf_counter()
    with sessions.begin() as db:
        lock_scheduler(db)
        user = db.get(User, user_id)
        book(db, user, req, plan(db, user, req, SETTINGS, policies, NOW))
    return time.perf_counter() - start


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def _testbed(base: str | None, tmp: str, name: str, nodes: int, bookings: int,
             rng: random.Random):
    """A fresh, migrated database holding the fixture: (sessionmaker, user id, node names)."""
    with _database(base, tmp, name) as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            sessions = make_sessionmaker(engine)
            start = time.perf_counter()
            user_id, names = _fixture(sessions, nodes, bookings, rng)
            print(f"# {name}: {nodes} nodes, {bookings} bookings stored in "
                  f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
            yield sessions, user_id, names
        finally:
            engine.dispose()


@contextmanager
def _database(base: str | None, tmp: str, name: str):
    """A URL of a new empty database: a SQLite file, or one created on the given server."""
    if base is None:
        yield f"sqlite:///{tmp}/{name}.db"
        return
    server = make_url(base)
    if server.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL server")
    fresh = f"vp_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    try:
        yield server.set(database=fresh).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()


def _fixture(sessions, nodes: int, bookings: int, rng: random.Random) -> tuple[int, list[str]]:
    """The bench user and scenario, the nodes, and the existing bookings of other users."""
    names = [f"n{i:05d}" for i in range(nodes)]
    with sessions.begin() as db:
        user, others = User(name="bench"), User(name="others")
        db.add_all([user, others])
        db.flush()
        db.add(Spec(kind="scenario", owner_id=user.id, name="bench", spec=SCENARIO))
        db.execute(insert(Node), [_node(i, name, rng) for i, name in enumerate(names)])
        schedules = [Schedule(owner_id=others.id, scenario_name="other", mode="at", request={},
                              duration=0) for _ in range(8)]
        db.add_all(schedules)
        db.flush()
        for rows in _bookings(names, bookings, [s.id for s in schedules], rng):
            db.execute(insert(Booking), rows)
        return user.id, names


def _node(i: int, name: str, rng: random.Random) -> dict:
    kind = "deployed" if i % 5 < 3 else "cloud"  # 60 % match 'type=deployed'
    return {"name": name, "interfaces": [{"name": "op0"}], "tools": [TOOL], "status": "active",
            "attributes": {"type": kind, "country": COUNTRIES[i % len(COUNTRIES)]},
            "registered_at": NOW, "last_seen": NOW - timedelta(seconds=rng.randrange(600))}


def _bookings(names: list[str], total: int, schedule_ids: list[int], rng: random.Random,
              chunk: int = 20_000):
    """``total`` bookings of 5-60 min over 40 days, non-overlapping per node, in chunks."""
    rows = []
    for i, name in enumerate(names):
        count = total // len(names) + (i < total % len(names))
        for occurrence, (start, end) in enumerate(_spread(count, rng)):
            rows.append({"schedule_id": schedule_ids[i % len(schedule_ids)],
                         "occurrence": occurrence, "node_name": name, "start": start,
                         "end": end, "shared": False, "system": False,
                         "interfaces": ["default"], "tools": ["probe"], "state": "reserved"})
            if len(rows) == chunk:
                yield rows
                rows = []
    if rows:
        yield rows


def _spread(count: int, rng: random.Random):
    """One booking in each of ``count`` equal slots of the next 40 days, at a random place."""
    if not count:
        return
    slot = 40 * DAY // count
    for k in range(count):
        length = rng.randrange(5 * MINUTE, min(60 * MINUTE, slot - MINUTE) + 1)
        start = NOW + timedelta(seconds=k * slot + rng.randrange(slot - length + 1))
        yield start, start + timedelta(seconds=length)


if __name__ == "__main__":
    main()
