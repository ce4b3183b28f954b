"""Prometheus metrics of one core process, served at ``GET /metrics`` (outside /api/v1).

Each app has its own registry (nothing global: tests build several apps in one
process). It holds what this process counts (ingest, request latency; Prometheus
scrapes every core process and sums), what only this process knows (whether it holds
the duties lease) and gauges read from the database at scrape time (database.py).

Access: open by default, like most exporters; the shipped systemd units bind the
cores to loopback and the shipped nginx site answers 404 for /metrics, so it is never
public. ``metrics_token`` requires a bearer token; ``metrics_loopback_only`` refuses
peers not on this host.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import choose_encoder

from vantagepoint.config import CoreSettings
from vantagepoint.core.metrics.database import DatabaseCollector
from vantagepoint.core.metrics.ingest import IngestCounters
from vantagepoint.core.metrics.latency import RequestTimer, request_histogram

__all__ = ["CoreMetrics", "install"]


class CoreMetrics:
    """The registry of one app and the instruments the code counts with."""

    def __init__(self, app: FastAPI, settings: CoreSettings):
        self.registry = CollectorRegistry()
        self.ingest = IngestCounters(self.registry)
        self.requests = request_histogram(self.registry)
        lease = Gauge("vantage_duties_lease_held", "1 while this process holds the duties "
                      "lease (runs the background duties), else 0.", registry=self.registry)
        lease.set_function(lambda: _holds_lease(app))
        self.retention = Counter("vantage_retention_rows_removed", "Results removed by "
                                 "retention, by how (dropped: whole partitions; deleted: "
                                 "in batches).", ["how"], registry=self.registry)
        self.registry.register(DatabaseCollector(app.state, settings.node_offline_seconds,
                                                 settings.metrics_cache_seconds))


    def count_retention(self, how: str, rows: int) -> None:
        self.retention.labels(how).inc(rows)


def install(app: FastAPI, settings: CoreSettings) -> None:
    """Add the metrics, the request timer and ``GET /metrics`` to ``app``."""
    metrics = app.state.metrics = CoreMetrics(app, settings)
    app.add_middleware(RequestTimer, histogram=metrics.requests)

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:  # a thread: the gauges query the database
        refusal = _refusal(request, settings)
        if refusal is not None:
            return refusal
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(metrics.registry), media_type=content_type)


def _refusal(request: Request, settings: CoreSettings) -> Response | None:
    if settings.metrics_loopback_only and not _loopback(request):
        return Response("metrics are served to this host only\n", status_code=403,
                        media_type="text/plain")
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return Response("send 'Authorization: Bearer <metrics token>'\n", status_code=401,
                            media_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    return None


def _loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:  # not an address (e.g. a test client's name)
        return False


def _holds_lease(app: FastAPI) -> float:
    coordinator = getattr(app.state, "coordinator", None)
    return 1.0 if coordinator is not None and coordinator.lease.held() else 0.0
