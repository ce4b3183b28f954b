"""Footprint of a real agent process with the node platform running.

A core and one agent (``python -m vantagepoint.agent``, the lean entry point
without the command line's modules) run as their own processes; the agent has 3 measurement
interfaces (all on loopback), background ping on each once a second, the
metadata bus with its sources and recorder, and the uploaders. After a warm-up
the agent is sampled for ``--seconds`` (60 by default).

Prints one figure per line:
  agent_rss_mb        peak resident memory of the agent process, MiB (target < 60)
  agent_cpu_pct       CPU of the agent process over the window, % of one core (target < 2)
  pingers_rss_mb      resident memory of its three ping processes together, MiB
  pingers_cpu_pct     their CPU over the window, % of one core
  background_results  background ping results at the core from the window (about 3/s)
  metadata_rows       bus messages at the core from the window

Usage: python bench/agent_footprint.py [--seconds S] [--warmup W]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _core import start_core
from ingest import TOKEN

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid), "-x", "ping"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def start_agent(base: str, tmp: Path) -> subprocess.Popen:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    token = admin.post("/api/v1/node-tokens", json={"node": "f1"}).json()["token"]
    env = {**os.environ, "VANTAGE_AGENT_INTERFACES": json.dumps(
               {"op0": "lo", "op1": "lo", "op2": "lo"}),
           "VANTAGE_AGENT_BACKGROUND_TARGET": "127.0.0.1", "VANTAGE_AGENT_CORE_URL": base,
           "VANTAGE_AGENT_TOKEN": token, "VANTAGE_AGENT_NAME": "f1",
           "VANTAGE_AGENT_DATA_DIR": str(tmp / "agent")}
    log = open(tmp / "agent.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "vantagepoint.agent"], env=env, stdout=log,
                            stderr=log)


def measure(agent: subprocess.Popen, seconds: float) -> dict[str, float]:
    pingers = children(agent.pid)
    if len(pingers) != 3:
        raise SystemExit(f"expected 3 background pingers, found {len(pingers)}")
    began, cpu0 = time.monotonic(), cpu_seconds(agent.pid)
    ping0 = sum(cpu_seconds(p) for p in pingers)
    peak = ping_rss = 0.0
    while (elapsed := time.monotonic() - began) < seconds:
        peak = max(peak, rss_mb(agent.pid))
        ping_rss = max(ping_rss, sum(rss_mb(p) for p in pingers))
        time.sleep(min(1.0, seconds - elapsed))
    wall = time.monotonic() - began
    return {"agent_rss_mb": peak,
            "agent_cpu_pct": 100 * (cpu_seconds(agent.pid) - cpu0) / wall,
            "pingers_rss_mb": ping_rss,
            "pingers_cpu_pct": 100 * (sum(cpu_seconds(p) for p in pingers) - ping0) / wall}


def count(base: str, path: str, params: dict) -> int:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=30)
    return len(admin.get(path, params={**params, "limit": 10000}).json()["items"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        core, base = start_core(f"sqlite:///{tmp}/core.db", Path(tmp), TOKEN)
        agent = start_agent(base, Path(tmp))
        try:
            time.sleep(args.warmup)
            since = time.time()
            figures = measure(agent, args.seconds)
            time.sleep(2.0)  # the last uploads
            window = {"since": since, "until": since + args.seconds}
            figures["background_results"] = count(base, "/api/v1/results",
                                                   {**window, "background": "true"})
            figures["metadata_rows"] = count(base, "/api/v1/metadata", window)
        finally:
            for proc in (agent, core):
                proc.terminate()
                proc.wait(timeout=15)
    for name, value in figures.items():
        print(f"{name}={value:.2f}" if isinstance(value, float) else f"{name}={value}")


if __name__ == "__main__":
    main()
