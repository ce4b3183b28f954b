"""Alarm latency end to end: a real core and agent, a condition that flaps, a webhook.

A command action prints ``v=0`` and ``v=1000`` alternately every ``--interval``
seconds; the condition ``v > 500`` fires on every 1000 (it re-arms on each 0),
so each alarm travels worker -> agent spool -> core -> notifier. The latency of
one alarm is the webhook's arrival time minus the timestamp of the result that
violated the condition (both clocks are this machine's).

Prints one figure per line:
  alarm_p50_s   median latency, seconds
  alarm_p99_s   99th percentile latency, seconds
  alarm_max_s   largest latency, seconds
  alarms        alarms delivered

Usage: python bench/alarms.py [--alarms N] [--interval S]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

TOKEN = "vpu_bench-admin-token-0123456789abcdef"


class Receiver:
    """A local webhook endpoint that notes when each alarm arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrivals.append((time.time(), json.loads(body)["alarm"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    args = _args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        try:
            base = _start(procs, Path(tmp), receiver.url)
            _run(base, args.alarms, args.interval, receiver)
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(timeout=15)
    latencies = sorted(arrived - alarm["ts"] for arrived, alarm in receiver.arrivals)
    if not latencies:
        raise SystemExit("no alarm arrived")
    print(f"alarm_p50_s={statistics.median(latencies):.3f}")
    print(f"alarm_p99_s={_percentile(latencies, 99):.3f}")
    print(f"alarm_max_s={latencies[-1]:.3f}")
    print(f"alarms={len(latencies)}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1)
    return parser.parse_args()


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _spawn(procs: list, argv: list[str], env: dict[str, str], log: Path) -> None:
    with open(log, "wb") as out:
        procs.append(subprocess.Popen(argv, env={**os.environ, **env}, stdout=out,
                                      stderr=subprocess.STDOUT))


def _start(procs: list, tmp: Path, hook: str) -> str:
    """A core that sends alarms to the webhook, and agent b1 enrolled with it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    _spawn(procs, [sys.executable, "-m", "vantagepoint.cli.main", "core", "--port", str(port),
                   "--database-url", f"sqlite:///{tmp}/core.db"],
           {"VANTAGE_ADMIN_TOKEN": TOKEN, "VANTAGE_START_MARGIN_SECONDS": "1",
            "VANTAGE_NOTIFIERS": json.dumps({"hook": {"kind": "webhook", "url": hook}}),
            "VANTAGE_DEFAULT_NOTIFIERS": '["hook"]', "VANTAGE_MIN_DURATION_SECONDS": "1",
            "VANTAGE_PADDING_SECONDS": "0"}, tmp / "core.log")
    _wait(lambda: httpx.get(base + "/api/v1/health", timeout=1).status_code == 200, 30,
          "the core", tmp / "core.log")
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    token = admin.post("/api/v1/node-tokens", json={"node": "b1"}).json()["token"]
    _spawn(procs, [sys.executable, "-m", "vantagepoint.cli.main", "agent", "--core", base,
                   "--token", token, "--name", "b1", "--data", str(tmp / "agent"),
                   "--poll", "0.2"], {}, tmp / "agent.log")
    _wait(lambda: admin.get("/api/v1/nodes").json(), 60, "the agent", tmp / "agent.log")
    return base


def _wait(ready, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start:\n" + log.read_text(errors="replace")[-3000:])


def _run(base: str, alarms: int, interval: float, receiver: Receiver) -> None:
    script = (f"i=0; while [ $i -lt {alarms} ]; do echo v=0; sleep {interval}; echo v=1000; "
              f"sleep {interval}; i=$((i+1)); done")
    action = {"name": "gen", "node": "b1", "tool": "command", "results": ["v"],
              "conditions": ["v > 500"],
              "config": {"argv": ["/bin/sh", "-c", script],
                         "parse": [{"pattern": r"v=(?P<v>\d+)", "types": {"v": "number"}}]}}
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    doc = {"name": "flap", "tasks": [{"name": "t", "actions": [action]}]}
    admin.put("/api/v1/scenarios/flap", json=doc).raise_for_status()
    duration = alarms * interval * 2 + 10
    admin.post("/api/v1/executions", json={"scenario": "flap", "duration": duration}
               ).raise_for_status()
    deadline = time.monotonic() + duration + 60
    while len(receiver.arrivals) < alarms and time.monotonic() < deadline:
        time.sleep(0.2)


if __name__ == "__main__":
    main()
