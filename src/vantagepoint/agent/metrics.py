"""The agent's Prometheus metrics on an optional HTTP listener.

Off unless ``metrics_port`` is set; it binds ``metrics_host``, loopback by default,
so a node exposes nothing new unless its operator says so (a node often sits on a
network its owner does not control). Every value is read from the agent when scraped:
the spool backlogs are counts in the spool file, the rest plain attributes the
threads keep; nothing here runs between scrapes.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from vantagepoint.agent.loop import Agent

log = logging.getLogger(__name__)


class AgentCollector(Collector):
    """Reads one agent's state at scrape time."""

    def __init__(self, agent: Agent):
        self.agent = agent

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> list[Metric]:
        return [*self._backlog(), *self._uploads(), *self._work(), *self._services()]

    def _backlog(self) -> list[Metric]:
        backlog = GaugeMetricFamily(
            "vantage_agent_spool_backlog", "Records spooled and not yet uploaded; records: "
            "results and logs, stream: metadata and background results.", labels=["spool"])
        backlog.add_metric(["records"], self.agent.spool.pending_count())
        backlog.add_metric(["stream"], self.agent.services.stream.pending_count())
        return [backlog]

    def _uploads(self) -> list[Metric]:
        stats = {"records": self.agent.uploader.stats,
                 "stream": self.agent.services.uploader.stats}
        families = {
            "attempts": CounterMetricFamily("vantage_agent_upload_attempts",
                                            "Upload requests made.", labels=["spool"]),
            "failures": CounterMetricFamily("vantage_agent_upload_failures",
                                            "Upload requests that failed (retried later).",
                                            labels=["spool"]),
            "records": CounterMetricFamily("vantage_agent_uploaded_records",
                                           "Records the core acknowledged.", labels=["spool"])}
        age = GaugeMetricFamily("vantage_agent_last_upload_age_seconds", "Seconds since the "
                                "core last accepted a batch (absent before the first).",
                                labels=["spool"])
        for spool, s in stats.items():
            for key, family in families.items():
                family.add_metric([spool], getattr(s, key))
            if s.last_success is not None:
                age.add_metric([spool], max(0.0, time.time() - s.last_success))
        return [*families.values(), age]

    def _work(self) -> list[Metric]:
        locals_ = tuple(self.agent.locals.values())  # one atomic copy; the loop changes it
        running = sum(local.runner.running_actions for local in locals_
                      if local.runner is not None)
        return [GaugeMetricFamily("vantage_agent_running_actions", "Actions whose tool runs "
                                  "now.", value=running),
                GaugeMetricFamily("vantage_agent_executions", "Executions this agent holds "
                                  "(deploying, running or settling).", value=len(locals_))]

    def _services(self) -> list[Metric]:
        services = self.agent.services
        restarts = CounterMetricFamily("vantage_agent_watchdog_restarts", "Services the "
                                       "watchdog restarted, by check.", labels=["check"])
        for check, count in sorted(services.watchdog.restarts.items()):
            restarts.add_metric([check], count)
        return [CounterMetricFamily("vantage_agent_bus_messages_published", "Messages put on "
                                    "the metadata bus.", value=services.published),
                CounterMetricFamily("vantage_agent_bus_messages_lost", "Messages lost while "
                                    "the bus restarted.", value=services.unsent),
                restarts,
                GaugeMetricFamily("vantage_agent_maintenance", "1 while the node is in "
                                  "maintenance.", value=1 if services.maintenance else 0)]


class MetricsServer:
    """The listener; ``stop()`` closes it."""

    def __init__(self, agent: Agent):
        s = agent.settings
        self.registry = CollectorRegistry()
        self.registry.register(AgentCollector(agent))
        self._server, self._thread = start_http_server(s.metrics_port, s.metrics_host,
                                                       registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", s.metrics_host, s.metrics_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(agent: Agent) -> MetricsServer | None:
    """Start the listener if ``metrics_port`` is set; a busy port is logged, not fatal
    (measuring goes on without metrics)."""
    if agent.settings.metrics_port is None:
        return None
    try:
        return MetricsServer(agent)
    except OSError as exc:
        log.error("metrics listener on %s:%d not started: %s", agent.settings.metrics_host,
                  agent.settings.metrics_port, exc)
        return None
