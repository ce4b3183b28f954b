"""Gauges read from the database at scrape time, so any core process tells the same story.

Executions by state, heartbeat ages and archiver backlogs live in the shared database:
a counter kept by one process would be wrong as soon as there are two. The queries
are cheap (an indexed group-by, one row per node, one per archiver) and their result
is reused for ``metrics_cache_seconds`` so that several scrapers cost one read.

Heartbeat ages are a gauge histogram plus counts, not one series per node: the
number of series stays fixed however large the fleet grows, and "how many nodes are
stale" is what an alert needs; which ones is in the API (``GET /nodes``).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vantagepoint.core.archive import statuses
from vantagepoint.core.run.states import EXEC_FINAL
from vantagepoint.core.store.models import Execution, Node
from vantagepoint.wire import ExecState

log = logging.getLogger(__name__)

ACTIVE_STATES = [s.value for s in ExecState if s not in EXEC_FINAL]
AGE_BUCKETS = (5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 86400)
ARCHIVER_TOTALS = ("delivered", "expired", "dropped", "attempts", "failures")


class DatabaseCollector(Collector):
    """Reads the shared state through ``state.sessions`` (set once the app started)."""

    def __init__(self, state, offline_seconds: float, cache_seconds: float):
        self.state, self.offline_seconds = state, offline_seconds
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._read_at = float("-inf")

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> list[Metric]:
        with self._lock:  # concurrent scrapes wait for one read instead of each querying
            if time.monotonic() - self._read_at >= self.cache_seconds:
                self._families = self._read()
                self._read_at = time.monotonic()
            return list(self._families)

    def _read(self) -> list[Metric]:
        sessions = getattr(self.state, "sessions", None)
        families: list[Metric] = []
        try:
            with sessions() as db:
                families += executions(db)
                families += heartbeats(db, self.offline_seconds)
                families += archivers(db, getattr(self.state, "archivers", []))
        except Exception as exc:  # noqa: BLE001 - the scrape still answers, saying the db is down
            log.warning("metrics: the database did not answer: %s", exc)
            families = []
        up = GaugeMetricFamily("vantage_database_up", "Whether this process could read the "
                               "database for the gauges below.", value=1 if families else 0)
        return [up, *families]


def executions(db: Session) -> list[Metric]:
    """Executions not yet final, by state (queued, deploying, ready, running)."""
    counts = dict.fromkeys(ACTIVE_STATES, 0)
    counts.update(db.execute(select(Execution.state, func.count()).where(
        Execution.state.in_(ACTIVE_STATES)).group_by(Execution.state)).all())
    family = GaugeMetricFamily("vantage_executions", "Executions not yet final, by state.",
                               labels=["state"])
    for state, count in counts.items():
        family.add_metric([state], count)
    return [family]


def heartbeats(db: Session, offline_seconds: float) -> list[Metric]:
    """Ages of the nodes' last heartbeats: a histogram, the oldest, and counts by health."""
    now = time.time()
    rows = db.execute(select(Node.status, Node.last_seen)).all()
    skews = [abs(s) for s in db.scalars(select(Node.clock_skew_ms)) if s is not None]
    skew = GaugeMetricFamily("vantage_node_clock_skew_max_seconds",
                             "Largest clock difference between a node and the core, as the "
                             "nodes' last heartbeats showed it.",
                             value=max(skews, default=0.0) / 1000)
    ages = sorted(now - _epoch(seen) for _, seen in rows if seen is not None)
    hist = GaugeHistogramMetricFamily(
        "vantage_node_heartbeat_age_seconds", "Seconds since each node was last heard, "
        "as a histogram over the fleet.", buckets=_buckets(ages), gsum_value=sum(ages))
    oldest = GaugeMetricFamily("vantage_node_heartbeat_age_max_seconds",
                               "Seconds since the least recently heard node was heard.",
                               value=ages[-1] if ages else 0)
    nodes = GaugeMetricFamily("vantage_nodes", "Registered nodes by status (active, "
                              "maintenance, disabled) and whether they are heard.",
                              labels=["status", "heard"])
    tally: dict[tuple[str, str], int] = {}
    for status, seen in rows:
        heard = ("never" if seen is None
                 else "stale" if now - _epoch(seen) >= offline_seconds else "recent")
        tally[(status, heard)] = tally.get((status, heard), 0) + 1
    for (status, heard), count in sorted(tally.items()):
        nodes.add_metric([status, heard], count)
    return [hist, oldest, nodes, skew]


def _buckets(ages: list[float]) -> list[tuple[str, int]]:
    """Cumulative counts per upper bound, as Prometheus histograms have them."""
    out, i = [], 0
    for bound in AGE_BUCKETS:
        while i < len(ages) and ages[i] <= bound:
            i += 1
        out.append((str(float(bound)), i))
    return [*out, ("+Inf", len(ages))]


def _epoch(when: datetime) -> float:
    return when.timestamp()


def archivers(db: Session, configured) -> list[Metric]:
    """Per archiver: outbox backlog, its oldest row's age, and the totals kept in the db."""
    backlog = GaugeMetricFamily("vantage_archiver_backlog", "Outbox rows waiting to be "
                                "pushed.", labels=["archiver"])
    oldest = GaugeMetricFamily("vantage_archiver_oldest_age_seconds", "Age of the oldest "
                               "waiting outbox row (0 when none waits).", labels=["archiver"])
    totals = {k: CounterMetricFamily(f"vantage_archiver_{k}", f"Archiver {k} so far "
                                     "(kept in the database, so the same from every "
                                     "process).", labels=["archiver"]) for k in ARCHIVER_TOTALS}
    for s in statuses(db, configured):
        backlog.add_metric([s["name"]], s["backlog"])
        oldest.add_metric([s["name"]], s["oldest_age_seconds"] or 0)
        for key, family in totals.items():
            family.add_metric([s["name"]], s[key])
    return [backlog, oldest, *totals.values()]
