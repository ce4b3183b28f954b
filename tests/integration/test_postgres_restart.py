"""PostgreSQL restarted while a core ingests and runs an execution: it recovers without a hand.

The server is the machine's shared one (the other PostgreSQL tests use it too),
so the test restarts it only here and always leaves it running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.integration.test_core_killed_during_ingest import spooled
from tests.integration.test_duties_failover import book_ping, execution_of
from tests.support import ADMIN_TOKEN, wait_until

pytestmark = pytest.mark.integration
CLUSTERS = Path("/etc/postgresql")


def cluster() -> list[str]:
    """`pg_ctlcluster` arguments naming the local server (VERSION main)."""
    versions = sorted(p.name for p in CLUSTERS.iterdir()) if CLUSTERS.is_dir() else []
    reason = None
    if os.geteuid() != 0:
        reason = "restarting PostgreSQL needs root"
    elif not versions or shutil.which("pg_ctlcluster") is None:
        reason = "no local PostgreSQL cluster to restart (pg_ctlcluster, /etc/postgresql)"
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: the restart test must run)")
        pytest.skip(reason)
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def pg_ctl(args: list[str], *action: str) -> None:
    subprocess.run([*args, *action], check=True, capture_output=True, timeout=120)


@pytest.fixture
def restartable():
    """The cluster's pg_ctlcluster arguments; it is running again afterwards, whatever happened."""
    args = cluster()
    yield args
    subprocess.run([*args, "start"], capture_output=True, timeout=120)  # "already running" is ok


def status(core) -> int | None:
    try:
        return httpx.get(core.url + "/api/v1/executions", timeout=5,
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code
    except httpx.HTTPError:
        return None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_core_rides_out_a_postgres_restart(core, client, restartable, tmp_path):
    data_dir = tmp_path / "agent-n1"
    core.start_agent("n1", data_dir=data_dir, upload_interval=0.2)
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
    start = datetime.now(UTC) + timedelta(seconds=2)
    ex_id = execution_of(client, book_ping(client, "n1", start, duration=15, interval=0.05))
    wait_until(lambda: len(client.results(execution=ex_id, name="rtt_ms")) > 20, timeout=60,
               what="results arriving")
    assert client.execution(ex_id).state == "running"

    pg_ctl(restartable, "stop", "-m", "fast")  # a restart with a gap the core must notice
    time.sleep(2)
    down = httpx.get(core.url + "/api/v1/executions", timeout=5,
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert down.status_code == 503 and down.headers["Retry-After"], down.text
    assert down.json()["error"] == "unavailable"
    pg_ctl(restartable, "start")
    wait_until(lambda: status(core) == 200, timeout=30, what="the API to answer again")

    ex = wait_until(lambda: (e := client.execution(ex_id)).done and e, timeout=120,
                    what="the execution to end")
    assert ex.state == "finished", (ex.reason, client.logs(ex_id))
    assert wait_until(lambda: httpx.get(core.url + "/api/v1/health", timeout=5).json()
                      .get("runs_duties"), timeout=30, what="the core to hold the duties")
    # Booked after the restart: only working duties (and lease) can run it.
    after = execution_of(client, book_ping(client, "n1", datetime.now(UTC)
                                           + timedelta(seconds=2)))
    wait_until(lambda: client.execution(after).done, timeout=60, what="a later execution")
    assert client.execution(after).state == "finished"
    expected = spooled(data_dir, ex_id)
    stored = Counter((r["ts"], r["value"]) for r in client.results(execution=ex_id, name="rtt_ms"))
    assert sum(expected.values()) > 150
    assert stored == expected, (f"lost {sum((expected - stored).values())}, "
                                f"duplicated {sum((stored - expected).values())}")
    core_lines = Counter(line["message"] for line in client.logs(ex_id)
                         if line["message"].startswith("execution "))
    assert core_lines["execution finished"] == 1, core_lines
    log = core.proc.output()
    assert log.count("the database does not answer; the duties wait") == 1, "said once"
    assert "the database answers again" in log
