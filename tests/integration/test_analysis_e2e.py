"""Analysis end to end: an agent pings, then the client and CLI query and export it."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from ripe.atlas.sagan import PingResult

from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.client import Scenario

pytestmark = pytest.mark.integration
DAY = date(2026, 1, 1)
T0 = 1_767_225_600.0  # DAY at 00:00 UTC


def _vantage(core, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", *args, "--url",
                           core.url, "--token", ADMIN_TOKEN], capture_output=True, text=True,
                          timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


@pytest.fixture
def pinged(core, client):
    """A finished execution of ping on n1's interface op0, plus a past day's results."""
    core.start_agent("n1", interface="op0=lo")
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
    s = Scenario("rtt")
    s.task("probe").action("p", node="n1", tool="ping", interface="op0",
                           config={"target": "127.0.0.1", "interval": 0.05, "count": 40},
                           results=["rtt_ms", "sent", "received", "atlas"])
    ex = client.start(s, duration=6).wait(timeout=90)
    assert ex.state == "finished", ex.reason
    past = [{"kind": "result", "seq": i + 1, "execution_id": ex.id, "action": "p",
             "name": "rtt_ms", "ts": T0 + 3600 * i, "value": 10.0 + i} for i in range(24)]
    httpx.post(core.url + "/api/v1/agent/records", timeout=30,
               json={"spool_id": "past-day-0001", "records": past},
               headers={"Authorization": f"Bearer {core.node_token('n1')}"}).raise_for_status()
    return ex


def test_stats_export_and_atlas_through_client_and_cli(core, client, pinged, tmp_path):
    rtts = np.array([r["value"] for r in client.results(execution=pinged.id, name="rtt_ms",
                                                        since=T0 + 86400)])
    assert len(rtts) >= 30
    found = client.stats("rtt_ms", by=["interface"], percentiles=[50, 99],
                         execution=pinged.id, since=T0 + 86400)
    [group] = found["groups"]
    assert group["key"] == {"interface": "op0"} and group["numeric"] == len(rtts)
    assert group["percentiles"]["99"] == pytest.approx(np.percentile(rtts, 99))
    assert group["loss_pct"] == pytest.approx(100 * (1 - len(rtts) / group["sent"]))

    table = _vantage(core, "stats", "rtt_ms", "--by", "node", "--since", str(T0 + 86400))
    assert table.returncode == 0, table.stderr
    assert re.search(rf"n1\s+│\s+{len(rtts)}\s+│", table.stdout), table.stdout

    target = tmp_path / "rtt.parquet"
    done = _vantage(core, "export", "results", "--name", "rtt_ms", "-f", "parquet", "-o",
                    str(target))
    assert done.returncode == 0, done.stderr
    stored = client.results(name="rtt_ms")
    assert [(r["id"], r["ts"], json.loads(r["value"])) for r in pq.read_table(target)
            .to_pylist()] == [(r["id"], r["ts"], r["value"]) for r in stored]

    [record] = client.atlas("ping", execution=pinged.id)
    parsed = PingResult(record)
    assert parsed.measurement_id == pinged.id and not parsed.is_malformed
    assert parsed.packets_received == len(rtts)


def test_daily_dump_is_idempotent(core, client, pinged, tmp_path):
    first = _vantage(core, "export", "dump", str(tmp_path), "--day", DAY.isoformat())
    assert first.returncode == 0, first.stderr
    assert "results 24" in first.stdout
    folder = tmp_path / DAY.isoformat()
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["files"]["results"]["rows"] == 24
    with open(folder / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(float(r["ts"]), json.loads(r["value"])) for r in rows] == [
        (T0 + 3600 * i, 10.0 + i) for i in range(24)]
    again = _vantage(core, "export", "dump", str(tmp_path), "--day", DAY.isoformat())
    assert "already dumped" in again.stdout
    assert json.loads((folder / "MANIFEST.json").read_text()) == manifest
    today = _vantage(core, "export", "dump", str(tmp_path), "--day", date.today().isoformat())
    assert today.returncode == 1 and "not over yet" in today.stderr
    logs = list(csv.reader(io.StringIO((folder / "logs.csv").read_text())))
    assert logs[0][:3] == ["id", "execution", "node"]
