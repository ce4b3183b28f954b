"""Prometheus /metrics of real core and agent processes, scraped and parsed as Prometheus does."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import IN_CI
from tests.integration.test_duties_failover import book_ping, execution_of, finished_once
from tests.support import ADMIN_TOKEN, free_port, spawn, start_core, wait_until
from vantagepoint.client import Client

pytestmark = pytest.mark.integration
Samples = dict[tuple[str, frozenset], float]


def scrape(url: str, **headers: str) -> Samples:
    """Every sample at ``url`` as (name, labels) -> value."""
    r = httpx.get(url, headers=headers, timeout=10)
    r.raise_for_status()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when absent (a labelled counter appears once counted)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def spooled(data_dir, kind: str) -> int:
    db = sqlite3.connect(data_dir / "spool.db")
    try:
        return db.execute("select count(*) from records where kind = ?", (kind,)).fetchone()[0]
    finally:
        db.close()


def _soon(seconds: float = 2.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_core_metrics_follow_ingest_executions_and_heartbeats(core, client, tmp_path):
    metrics = core.url + "/metrics"
    before = scrape(metrics)
    assert value(before, "vantage_ingest_records_stored_total", node_type="testing",
                 kind="result") == 0
    data_dir = tmp_path / "agent-n1"
    core.start_agent("n1", data_dir=data_dir, attr="type=testing")
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")

    ex_id = execution_of(client, book_ping(client, "n1", _soon(), duration=3, interval=0.2))
    wait_until(lambda: value(scrape(metrics), "vantage_executions", state="running") == 1,
               timeout=60, interval=0.2, what="the running gauge at 1")
    finished_once(client, ex_id)
    after = wait_until(lambda: (s := scrape(metrics))
                       and value(s, "vantage_executions", state="running") == 0 and s,
                       timeout=10, what="the running gauge back at 0")

    # Stored counts grow by exactly what the agent spooled (and so uploaded), once each.
    results, logs = spooled(data_dir, "result"), spooled(data_dir, "log")
    assert results == len(client.results(execution=ex_id)) > 5
    stored = {kind: value(after, "vantage_ingest_records_stored_total", node_type="testing",
                          kind=kind) for kind in ("result", "log")}
    assert stored == {"result": results, "log": logs}
    received = value(after, "vantage_ingest_records_received_total", node_type="testing",
                     kind="result")
    assert received >= results
    batches = value(after, "vantage_ingest_batches_total", node_type="testing",
                    upload="records")
    assert batches >= 1
    assert value(after, "vantage_http_request_duration_seconds_count", method="POST",
                 route="/api/v1/agent/records", status="2xx") >= batches

    assert value(after, "vantage_database_up") == 1
    assert value(after, "vantage_duties_lease_held") == 1
    assert value(after, "vantage_nodes", status="active", heard="recent") == 1
    assert 0 <= value(after, "vantage_node_heartbeat_age_max_seconds") < 10
    assert value(after, "vantage_node_heartbeat_age_seconds_gcount") == 1
    assert value(after, "vantage_executions", state="queued") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_agent_spool_backlog_rises_while_the_core_is_down(database_url, tmp_path):
    core = start_core(database_url, tmp_path)
    port, agent_port = int(core.url.rsplit(":", 1)[1]), free_port()
    agent_metrics = f"http://127.0.0.1:{agent_port}/metrics"
    core.start_agent("n1", upload_interval=0.2,
                     extra_env={"VANTAGE_AGENT_METRICS_PORT": str(agent_port)})
    client = Client(core.url, ADMIN_TOKEN)
    try:
        wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
        ex_id = execution_of(client, book_ping(client, "n1", _soon(), duration=10,
                                               interval=0.05))
        wait_until(lambda: value(scrape(agent_metrics), "vantage_agent_running_actions") == 1,
                   timeout=60, interval=0.2, what="the agent to run the ping")
        up = wait_until(lambda: (s := scrape(agent_metrics)) and value(
            s, "vantage_agent_uploaded_records_total", spool="records") > 0 and s,
            timeout=30, what="a first upload")
        assert value(up, "vantage_agent_last_upload_age_seconds", spool="records") < 5
        assert value(up, "vantage_agent_bus_messages_published_total") >= 1  # Agent.Started

        core.proc.kill(9)
        down = wait_until(lambda: (s := scrape(agent_metrics)) and value(
            s, "vantage_agent_spool_backlog", spool="records") > 20 and s,
            timeout=30, what="the backlog to grow while the core is down")
        assert value(down, "vantage_agent_upload_failures_total", spool="records") > \
            value(up, "vantage_agent_upload_failures_total", spool="records")
        core.proc = start_core(database_url, tmp_path, port=port).proc

        drained = wait_until(lambda: (s := scrape(agent_metrics)) and value(
            s, "vantage_agent_spool_backlog", spool="records") == 0 and value(
            s, "vantage_agent_running_actions") == 0 and s,
            timeout=60, what="the backlog to drain once the core is back")
        assert value(drained, "vantage_agent_uploaded_records_total", spool="records") > \
            value(down, "vantage_agent_uploaded_records_total", spool="records")
        assert value(drained, "vantage_agent_last_upload_age_seconds", spool="records") < 10
        finished_once(client, ex_id)
    finally:
        for agent in core.agents:
            agent.stop()
        core.proc.stop()


def _outside_address() -> str:
    """An address of this host that is not loopback."""
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    v4 = [a for a in found if "." in a and not a.startswith("127.")]
    if not v4:
        reason = "this host has no non-loopback IPv4 address"
        if IN_CI:
            pytest.fail(reason + " (CI=true)")
        pytest.skip(reason)
    return v4[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_can_need_a_token_or_a_local_client(database_url, tmp_path):
    guarded = start_core(database_url, tmp_path, metrics_token="scrape-secret")
    try:
        assert httpx.get(guarded.url + "/metrics").status_code == 401
        wrong = httpx.get(guarded.url + "/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert value(scrape(guarded.url + "/metrics", Authorization="Bearer scrape-secret"),
                     "vantage_database_up") == 1
    finally:
        guarded.proc.stop()

    address, port = _outside_address(), free_port()
    proc = spawn("core-open", [sys.executable, "-m", "vantagepoint.cli.main", "core", "--host",
                               "0.0.0.0", "--port", str(port), "--database-url", database_url],
                 tmp_path, {"VANTAGE_ADMIN_TOKEN": ADMIN_TOKEN,
                            "VANTAGE_METRICS_LOOPBACK_ONLY": "true"})
    try:
        wait_until(lambda: _answers(f"http://{address}:{port}/api/v1/health"), timeout=30,
                   what="the core on all addresses")
        assert httpx.get(f"http://{address}:{port}/metrics").status_code == 403
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
    finally:
        proc.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
