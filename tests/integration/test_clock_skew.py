"""A node whose wall clock is 5 s ahead (libfaketime): detected, reported, in the delay errors.

The agent of n2 runs under libfaketime (``LD_PRELOAD``, ``FAKETIME=+5s``): its
``time.time()`` and ``time.time_ns()`` are 5 s ahead while the monotonic clock
is left alone, as on a node whose NTP broke. n1 is on the true clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.bus.message import NODE_EVENT
from vantagepoint.client import Scenario

pytestmark = pytest.mark.integration
# Debian's faketime package, whatever the architecture's multiarch directory.
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))),
                   Path("/usr/lib/faketime/libfaketime.so.1"))
OFFSET_MS = 5000.0
FAKE = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": "+5s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


@pytest.fixture
def faketime():
    """The environment that puts a process 5 s ahead; checked on a real interpreter first."""
    if not LIBFAKETIME.exists():
        reason = f"libfaketime is not installed ({LIBFAKETIME}; Debian package faketime)"
        if IN_CI:
            pytest.fail(reason + " (CI=true: the clock fault test must run)")
        pytest.skip(reason)
    probe = "import time; print(time.time() - %r, time.time_ns() / 1e9 - %r)"
    now = time.time()
    out = subprocess.run([sys.executable, "-c", probe % (now, now)], capture_output=True,
                         text=True, env={**os.environ, **FAKE}, check=True).stdout.split()
    assert all(4.5 < float(v) < 7 for v in out), out  # both clocks are faked
    return FAKE


def skew(client, node: str) -> float | None:
    known = {n.name: n.clock_skew_ms for n in client.nodes()}
    return known.get(node)


def owd_scenario() -> Scenario:
    s = Scenario("owd-skewed")
    s.task("t").action("recv", node="n2", tool="udp-owd",
                       config={"role": "receiver", "session": "k", "port": 18731},
                       results=["rx", "owd_ms", "owd_record", "clock_error_ms"]).action(
        "send", node="n1", tool="udp-owd", start=0.5,
        config={"role": "sender", "session": "k", "target": "127.0.0.1", "port": 18731,
                "interval": 0.05, "count": 20}, results=["tx"])
    return s


def test_a_clock_5_s_ahead_is_detected_reported_and_in_the_owd_error(core, client, faketime):
    core.start_agent("n1")
    core.start_agent("n2", extra_env=faketime)
    wait_until(lambda: skew(client, "n2") is not None and skew(client, "n1") is not None,
               timeout=60, what="heartbeats from both nodes")
    # The core stamps the heartbeat on arrival: the transit (loopback) is the error.
    assert skew(client, "n2") == pytest.approx(-OFFSET_MS, abs=300)
    assert abs(skew(client, "n1")) < 300

    event = wait_until(lambda: [m for m in client.metadata(node="n2", topic=NODE_EVENT)
                                if m["message"]["EventType"] == "Clock.Skew"],
                       timeout=60, what="the Clock.Skew node event")
    assert "ahead of the core" in event[0]["message"]["Message"]
    assert not [m for m in client.metadata(node="n1", topic=NODE_EVENT)
                if m["message"]["EventType"] == "Clock.Skew"]
    assert "ahead" in cli_nodes(core.url)["n2"] and "ahead" not in cli_nodes(core.url)["n1"]
    metrics = httpx.get(core.url + "/metrics", timeout=10,
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
    gauge = next(line for line in metrics.splitlines()
                 if line.startswith("vantage_node_clock_skew_max_seconds "))
    assert float(gauge.split()[1]) == pytest.approx(OFFSET_MS / 1000, abs=0.3)

    client.submit(owd_scenario())
    ex = client.start("owd-skewed", duration=8).wait(timeout=90)
    assert ex.state == "finished", (ex.reason, client.logs(ex.id))
    error = wait_until(lambda: client.results(execution=ex.id, name="clock_error_ms"),
                       timeout=30, what="the joined clock error")
    assert error[0]["value"] == pytest.approx(OFFSET_MS, abs=300)
    records = client.results(execution=ex.id, name="owd_record")
    assert len(records) == 20
    assert all(r["value"]["clock_error_ms"] >= OFFSET_MS - 300 for r in records)


def cli_nodes(url: str) -> dict[str, str]:
    """`vantage nodes` as the user sees it: each node's row of the table."""
    out = subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", "nodes", "--url", url,
                          "--token", ADMIN_TOKEN], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "250"}, check=True).stdout
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] in ("n1", "n2"):
            rows[cells[1]] = line
    return rows
