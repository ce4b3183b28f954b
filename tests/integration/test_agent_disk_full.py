"""The agent's disk fills during an execution: a clear event, no result half-kept, then resumed.

The agent's data directory (its spool) is a small tmpfs made for the test; a
file filling it leaves less than the agent's reserve, as a runaway log would.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import IN_CI
from tests.integration.test_core_killed_during_ingest import spooled
from tests.integration.test_duties_failover import book_ping, execution_of
from tests.support import wait_until
from vantagepoint.bus.message import NODE_EVENT

pytestmark = pytest.mark.integration
RESERVE_MB = 8
AGENT_ENV = {"VANTAGE_AGENT_MIN_FREE_DISK_MB": str(RESERVE_MB),
             "VANTAGE_AGENT_WATCHDOG_SECONDS": "0.5"}


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB tmpfs for the agent's data; unmounted afterwards."""
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("mounting a small filesystem needs root (CI=true: must run)")
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "agent-n1"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount, leave_mb: float):
    """A file that leaves ``leave_mb`` free on ``mount``; its path."""
    stat = os.statvfs(mount)
    size = stat.f_bavail * stat.f_frsize - int(leave_mb * 2**20)
    filler = mount / "filler"
    with open(filler, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, size)
    return filler


def events(client, kind: str) -> list[dict]:
    return [m for m in client.metadata(node="n1", topic=NODE_EVENT)
            if m["message"]["EventType"] == kind]


def test_a_full_disk_refuses_results_says_so_and_resumes(core, client, small_disk):
    core.start_agent("n1", data_dir=small_disk, extra_env=AGENT_ENV, upload_interval=0.2)
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
    ex_id = execution_of(client, book_ping(client, "n1", datetime.now(UTC)
                                           + timedelta(seconds=2), duration=16, interval=0.05))
    wait_until(lambda: len(client.results(execution=ex_id, name="rtt_ms")) > 20, timeout=60,
               what="results arriving")
    filler = fill(small_disk, leave_mb=RESERVE_MB / 2)
    full_at = time.time()
    event = wait_until(lambda: events(client, "Disk.Full"), timeout=30, what="Disk.Full")
    assert "disk full" in event[0]["message"]["Message"]
    time.sleep(2)
    filler.unlink()
    freed_at = time.time()
    wait_until(lambda: events(client, "Disk.Ok"), timeout=30, what="Disk.Ok")

    ex = wait_until(lambda: (e := client.execution(ex_id)).done and e, timeout=90,
                    what="the execution to end")
    assert ex.state == "finished", (ex.reason, client.logs(ex_id))
    lines = [line["message"] for line in client.logs(ex_id)]
    assert any(m.startswith("disk full:") for m in lines), lines
    assert any(m.startswith("disk space is back") for m in lines), lines
    assert client.node("n1").status == "active"  # not sent to maintenance

    db = sqlite3.connect(small_disk / "spool.db")
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    db.close()
    expected = spooled(small_disk, ex_id)
    stored = Counter((r["ts"], r["value"]) for r in client.results(execution=ex_id, name="rtt_ms"))
    assert stored == expected, (f"lost {sum((expected - stored).values())}, "
                                f"duplicated {sum((stored - expected).values())}")
    times = sorted(ts for ts, _ in expected)
    assert not [t for t in times if full_at + 1.5 < t < freed_at], "results kept on a full disk"
    assert len([t for t in times if t > freed_at + 1.5]) > 20, "results did not resume"
