"""`vantage testbed up/down` from the command line, and down after the state file is lost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.testbed.conftest import PREFIX
from vantagepoint.testbed import Testbed, TestbedError, netns, procs

CLI = [sys.executable, "-m", "vantagepoint.cli.main", "testbed"]


def _cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args, "--prefix", PREFIX], capture_output=True, text=True,
                          timeout=timeout)


def _leftovers() -> list[str]:
    return netns.namespaces(PREFIX) + netns.links(PREFIX)


def test_cli_up_leaves_it_running_and_down_removes_it_without_the_state_file(
        needs_root, tmp_path):
    links = tmp_path / "links.yaml"
    links.write_text("links:\n  n1:\n    op0: {delay_ms: 5, rate_mbit: 50}\n")
    run_dir = tmp_path / "run"
    try:
        up = _cli("up", "--nodes", "2", "--links", str(links), "--run-dir", str(run_dir),
                  "--port", "8081")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "testbed is up" in up.stdout and "http://198.19.0.2:8081" in up.stdout
        status = json.loads(_cli("status", "--run-dir", str(run_dir), "--json").stdout)
        records = status["processes"]
        assert {p["role"] for p in records} == {"core", "agent", "emulator"}
        assert all(p["alive"] for p in records)
        (run_dir / "state.json").unlink()  # as after a crash
        down = _cli("down", "--run-dir", str(run_dir))
        assert down.returncode == 0, down.stdout + down.stderr
        assert _leftovers() == []
        assert not any(procs.start_time(p["pid"]) for p in records)
        again = _cli("down", "--run-dir", str(run_dir))
        assert again.returncode == 0 and "nothing to remove" in again.stdout
    finally:
        _cli("down", "--run-dir", str(run_dir))


def test_up_refuses_while_one_is_up_and_cleans_up_a_failed_start(needs_root, tmp_path):
    with Testbed.up(nodes=1, run_dir=tmp_path / "a", start_agents=False, prefix=PREFIX) as bed:
        with pytest.raises(TestbedError, match="already up"):
            Testbed.up(nodes=1, run_dir=tmp_path / "b", start_agents=False, prefix=PREFIX)
        with pytest.raises(TestbedError, match=r"198\.18\.0\.0/15 is already in use"):
            Testbed.up(nodes=1, run_dir=tmp_path / "b", start_agents=False, prefix="vpu-")
        assert bed.run("n1", "ping", "-c", "1", "198.18.0.1").returncode == 0
    assert _leftovers() == []
    with pytest.raises(TestbedError, match="cannot reach the core"):
        Testbed.up(nodes=1, run_dir=tmp_path / "c", core_url="http://127.0.0.1:9",
                   admin_token="vpu_x", prefix=PREFIX)
    assert _leftovers() == []
