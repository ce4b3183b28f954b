"""Two core processes on one database: retention runs in the duties holder only."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.integration.test_duties_failover import health, holder_and_other
from tests.support import ADMIN_TOKEN, start_core, wait_until
from vantagepoint.cli.main import app

pytestmark = pytest.mark.integration
OLD = time.time() - 5 * 86400


@pytest.fixture
def two_cores(database_url, tmp_path):
    env = {"retention_days": '{"@background": 2}', "storage_duty_seconds": "1",
           "retention_batch": "7"}
    cores = [start_core(database_url, tmp_path, **env) for _ in range(2)]
    yield cores
    for core in cores:
        core.proc.stop()


def add_background(database_url: str, spool: str, stamps: list[float]) -> None:
    engine = create_engine(database_url)
    with engine.begin() as c:
        for seq, ts in enumerate(stamps, start=1):
            c.execute(text(
                "INSERT INTO results (execution_id, node_name, action, name, ts, value, "
                "value_num, spool_id, seq, background) VALUES (NULL, 'n1', "
                "'background-ping.op0', 'rtt_ms', :ts, '3.5', 3.5, :spool, :seq, true)"),
                {"ts": ts, "spool": spool, "seq": seq})
    engine.dispose()


def background_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM results WHERE background")).scalar_one()
    engine.dispose()
    return n


def removed(core) -> float:
    """What this process's retention counter says it removed."""
    body = httpx.get(core.url + "/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(
        r'^vantage_retention_rows_removed_total\{how="\w+"\} (\S+)$', body, re.M))


def test_retention_runs_in_one_process_only(two_cores, database_url):
    holder, other = wait_until(lambda: holder_and_other(two_cores), timeout=30,
                               what="exactly one core to run the duties")
    for round_, expired in enumerate((30, 12), start=1):
        add_background(database_url, f"spool-old-{round_}", [OLD + i for i in range(expired)])
        add_background(database_url, f"spool-new-{round_}", [time.time()] * 3)
        wait_until(lambda r=round_: background_rows(database_url) == 3 * r, timeout=30,
                   what="the expired background results to be removed")
    assert removed(holder) == 42
    assert removed(other) == 0
    assert health(other)["duty_ticks"] == 0


def test_vantage_retention_shows_the_policy_and_partitions(two_cores, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    args = ["retention", "--url", two_cores[0].url, "--token", ADMIN_TOKEN]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "@background" in shown.output and "background results" in shown.output
    found = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert found["rules"] == [{"pattern": "@background", "days": 2.0,
                               "applies_to": "background results"}]
    assert found["partitioned"] == (len(found["partitions"]) >= 5)
    if found["partitioned"]:
        assert "weekly" in shown.output
    refused = httpx.get(two_cores[1].url + "/api/v1/admin/storage", timeout=5)
    assert refused.status_code == 401
