"""`vantage demo`: on a two-node testbed as root, on loopback with --loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ENV = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}


def _demo(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", "demo",
                           "--duration", "3", *args], capture_output=True, text=True,
                          timeout=240, env=ENV)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo finished" in done.stdout
    return done.stdout


def _rtt_avg(output: str) -> float:
    return float(re.search(r"rtt_avg_ms\s*│\s*1\s*│\s*([0-9.]+)", output).group(1))


def test_demo_as_root_runs_on_the_testbed_across_the_emulated_link(needs_root):
    output = _demo()
    assert "virtual testbed" in output and "n1/ping" in output
    assert 20.0 <= _rtt_avg(output) <= 30.0  # 10 ms each way, the first reply waits for ARP


def test_demo_on_loopback():
    output = _demo("--loopback")
    assert "loopback demo" in output and "local/ping" in output
    assert _rtt_avg(output) < 5.0
