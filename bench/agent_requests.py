"""The core's cost per agent request: heartbeats and small uploads in a closed loop.

One core process (SQLite, or PostgreSQL), ``--agents`` enrolled nodes, ``--concurrency``
calls in flight for ``--duration`` seconds; every worker alternates a heartbeat and an
upload of ``--records`` results (what an agent sends every 5 s at 1 result/s).
Prints per configuration (suffix _sqlite for SQLite):
  requests_per_s            calls answered per second by the one core process
  core_cpu_us_per_request   CPU the core spent per call, less its idle rate (the duties)
  request_errors            calls not answered 200

Usage: python bench/agent_requests.py [--agents 50] [--duration 20] [--configs pg,sqlite]
Profile: py-spy top --pid <core pid> (printed as core_pid= on stderr) while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

import _fleet_agents as fa
import _fleet_db as fdb
import fleet
import httpx
from _http11 import Http11Pool

IDLE_SECONDS = 3.0


def main() -> None:
    args = _args()
    fleet.each_config(args.configs, lambda config, tmp: _run(config, args, tmp))


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--records", type=int, default=5, help="results per upload")
    parser.add_argument("--configs", default="pg,sqlite")
    parser.add_argument("--pg-url", default=fleet.PG_URL)
    return parser.parse_args()


def _run(config: str, args, tmp: Path) -> dict[str, str]:
    url, drop = (f"sqlite:///{tmp}/core.db", None) if config == "sqlite" \
        else fdb.create_pg(args.pg_url)
    proc = None
    try:
        proc, base = fleet._start_core(url, tmp, 0)
        print(f"core_pid={proc.pid}", file=sys.stderr, flush=True)
        return asyncio.run(_measure(base, proc.pid, args))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
        if drop:
            fdb.drop_pg(args.pg_url, drop)


async def _measure(base: str, pid: int, args) -> dict[str, str]:
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    pool = Http11Pool(base, args.concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:
        agents = await fleet._enrol([client], [pool], args.agents)
        turn = itertools.cycle(agents)
        counts = {"ok": 0, "errors": 0}
        until = time.monotonic() + args.duration
        start = fleet._cpu_seconds([pid])
        await asyncio.sleep(IDLE_SECONDS)
        idle = (fleet._cpu_seconds([pid]) - start) / IDLE_SECONDS
        cpu, began = fleet._cpu_seconds([pid]), time.perf_counter()
        until = time.monotonic() + args.duration
        await asyncio.gather(*(_worker(turn, args.records, until, counts)
                               for _ in range(args.concurrency)))
        seconds = time.perf_counter() - began
        cpu = fleet._cpu_seconds([pid]) - cpu - idle * seconds
        await pool.aclose()
    calls = counts["ok"] + counts["errors"]
    return {"requests_per_s": f"{counts['ok'] / seconds:.0f}",
            "core_cpu_us_per_request": f"{cpu / max(calls, 1) * 1e6:.0f}",
            "core_idle_cpu_percent": f"{idle * 100:.1f}",
            "request_errors": str(counts["errors"])}


async def _worker(turn, records: int, until: float, counts: dict) -> None:
    beat = True
    while time.monotonic() < until:
        agent = next(turn)
        if beat:
            ok = await fa.timed_post(agent, "/api/v1/agent/heartbeat",
                                     json.dumps({"ts": time.time()}).encode(), None)
        else:
            now = time.time()
            for i in range(records):
                agent.measure(now - records + i)
            ok = await fa.upload_pending(agent, None)
            agent.pending.clear()  # a refused batch is not retried: this is no loss test
        counts["ok" if ok else "errors"] += 1
        beat = not beat


if __name__ == "__main__":
    main()
