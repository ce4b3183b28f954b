"""`vantage study` against a real core and agent: the example study file is created,
its 72 scenarios booked back to back, shown, and rerun beside the first run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import ADMIN_TOKEN, wait_until

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "device-eval.yaml"


def _vantage(core, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", *args,
                           "--url", core.url, "--token", ADMIN_TOKEN],
                          capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "220", "PATH": "/usr/bin:/bin"})


def test_study_create_status_rerun(core, client, tmp_path):
    core.start_agent("local")
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="agent")
    created = _vantage(core, "study", "create", str(EXAMPLE))
    assert created.returncode == 0, created.stderr
    assert "72 combinations" in created.stdout
    status = _vantage(core, "study", "status", "device-eval", "--json")
    study = json.loads(status.stdout)
    items = study["runs"][0]["items"]
    assert len(items) == 72 and items[3]["params"]["config"] == 1400
    rerun = _vantage(core, "study", "rerun", "device-eval", "--note", "firmware 2.1")
    assert rerun.returncode == 0, rerun.stderr
    assert "run 2 of study device-eval: 72 combinations" in rerun.stdout
    table = _vantage(core, "study", "status", "device-eval", "--run", "2")
    assert table.returncode == 0 and "run 2 (firmware 2.1)" in table.stdout
    assert "load=high, pattern=ramp, snmp=full, config=1400" in table.stdout

    bad = yaml.safe_load(EXAMPLE.read_text())
    bad["name"] = "bad-eval"
    bad["parameters"]["config"] = [56, 70000]  # ping's size is at most 65000
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False))  # axes keep their order
    refused = _vantage(core, "study", "create", str(path))
    assert refused.returncode == 1
    assert "18 of 36 combinations are not valid" in refused.stderr
    assert "config=70000" in refused.stderr and "/combinations/1/tasks/0/actions/0/config/size" \
        in refused.stderr
    assert [s["name"] for s in client.studies()] == ["device-eval"]
