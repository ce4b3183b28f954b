"""1,000 simulated agents against real core processes: ingest capacity, API latency, loss.

Each agent is a real node (own token, registered, part of an execution) driven by one
asyncio loop over real HTTP. Three phases per configuration:
  warm-up   the steady load for --warmup seconds right after the executions start: every
            agent's first calls, which take the cold paths (a node's first upload looks
            up its executions); reported apart, as api_p99_warmup_ms
  steady    heartbeats every 10 s, 1 result/s uploaded in batches every 5 s, for
            --duration seconds: the latency of every heartbeat and upload (p99)
  backlog   every agent returns from an outage with --backlog results and uploads
            them in 500-record batches (some sent twice, as after a lost answer) as
            fast as the core takes them: the sustained ingest rate. The default, 1,000
            results (a 17-minute outage), makes 1M rows, a phase of some 13 s here.
            The baseline COPY's rate falls with the volume while ingest's does not
            (COPY 163k rows/s for 300k rows, 108k for 1M, 82k for 2M; ingest 74-82k
            each time), so a short burst measures the COPY's start, not its pace
Then every row in the database is checked, by count and content, against what was sent.

Configurations: 2 core processes on one PostgreSQL (agents spread over the two ports
directly, as nginx's least_conn would; access log left to nginx, VANTAGE_ACCESS_LOG=false,
as docs/production.md sets them up), and the embedded default (1 core, SQLite, as it comes).
Prints, one per line (the SQLite figures with the suffix _sqlite):
  ingest_rows_per_s   rows/s stored in the backlog phase
  core_cpu_us_per_row CPU the core processes spent per row in that phase, less what
                      they spend idle (the duties), so it hardly depends on machine load
  copy_rows_per_s     a raw psycopg COPY of the same rows into a table shaped like results
  ingest_vs_copy      the ratio of the two (PostgreSQL only)
  api_p99_ms          p99 of heartbeat and upload calls in the steady phase
  api_p99_warmup_ms   the same in the warm-up
  api_calls_per_s     calls answered per second in it, against api_offered_per_s
  cpu_percent_core, cpu_percent_loadgen, cpu_percent_postgres
                      where the CPU went in it (100 = one CPU; this machine has nproc)
  api_errors          calls that failed in either phase (retried, never dropped)
  lost, duplicated    rows missing or wrong / stored twice or never sent

Usage: python bench/fleet.py [--agents 1000] [--warmup 15] [--duration 60] [--backlog 1000]
                             [--small]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _fleet_agents as fa
import _fleet_db as fdb
import httpx
from _http11 import Http11Pool

TOKEN = "vpu_fleet-admin-token-0123456789abcdef"
PG_URL = os.environ.get("VANTAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GROUP = 100  # nodes per execution
IDLE_SECONDS = 5.0
TOOL = {"name": "gen", "version": "1", "results": [{"name": "rtt"}]}


def main() -> None:
    args = _args()
    if args.small:
        args.agents, args.warmup, args.duration, args.backlog = 20, 2.0, 6.0, 60
    each_config(args.configs, lambda config, tmp: _run_config(config, args, tmp))


def each_config(configs: str, run) -> None:
    """``run(config, tmp dir)`` for each of 'pg,sqlite'; its figures printed, _sqlite suffixed."""
    for config in configs.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(config, Path(tmp))
        suffix = "" if config == "pg" else "_sqlite"
        for name, value in figures.items():
            print(f"{name}{suffix}={value}", flush=True)


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--warmup", type=float, default=15.0, help="warm-up phase, seconds")
    parser.add_argument("--duration", type=float, default=60.0, help="steady phase, seconds")
    parser.add_argument("--backlog", type=int, default=1000, help="results per agent")
    parser.add_argument("--retry-share", type=float, default=0.05)
    parser.add_argument("--connections", type=int, default=16, help="per core process")
    parser.add_argument("--concurrency", type=int, default=16, help="backlog uploads in flight")
    parser.add_argument("--configs", default="pg,sqlite")
    parser.add_argument("--pg-url", default=PG_URL, help="a database on the server to use")
    parser.add_argument("--small", action="store_true", help="tiny sizes (the smoke test)")
    return parser.parse_args()


def _run_config(config: str, args, tmp: Path) -> dict[str, str]:
    if config == "sqlite":
        url, drop = f"sqlite:///{tmp}/core.db", None
    else:
        url, drop = fdb.create_pg(args.pg_url)
    cores = []
    try:
        for i in range(2 if config == "pg" else 1):
            cores.append(_start_core(url, tmp, i))
        return asyncio.run(_measure(config, url, cores, args))
    finally:
        for proc, _ in cores:
            proc.terminate()
            proc.wait(timeout=15)
        if drop:
            fdb.drop_pg(args.pg_url, drop)


def _start_core(database_url: str, tmp: Path, index: int):
    """``vantage core`` as users run it, on a free loopback port; the PostgreSQL ones as
    docs/production.md sets them up, leaving the access log to nginx."""
    access_log = database_url.startswith("sqlite")  # the embedded default, as it comes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "VANTAGE_ADMIN_TOKEN": TOKEN, "VANTAGE_FILES_DIR": str(tmp / "files"),
           "VANTAGE_READY_TIMEOUT_SECONDS": "3600", "VANTAGE_ACCESS_LOG": str(access_log)}
    log = open(tmp / f"core{index}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "vantagepoint.cli.main", "core", "--port",
                             str(port), "--database-url", database_url],
                            env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("core did not start:\n" + (tmp / f"core{index}.log").read_text())


async def _measure(config: str, url: str, cores: list, args) -> dict[str, str]:
    bases, pids = [base for _, base in cores], [proc.pid for proc, _ in cores]
    limits = httpx.Limits(max_connections=args.connections,
                          max_keepalive_connections=args.connections)
    timeout = httpx.Timeout(60.0, pool=None)
    clients = [httpx.AsyncClient(base_url=b, limits=limits, timeout=timeout) for b in bases]
    pools = [Http11Pool(b, args.connections) for b in bases]
    try:
        agents = await _enrol(clients, pools, args.agents)
        warmup, steady = fa.Latencies(), fa.Latencies()
        stop = asyncio.Event()
        until = asyncio.get_running_loop().time() + args.warmup
        await asyncio.gather(*(fa.steady(a, until, warmup, stop) for a in agents))
        until = asyncio.get_running_loop().time() + args.duration
        shares = _CpuShares(pids)
        await asyncio.gather(*(fa.steady(a, until, steady, stop) for a in agents))
        shares = shares.percent()
        left = await fa.drain(agents, None)
        before = {a.name: a.seq for a in agents}
        jobs = fa.backlog_bodies(agents, args.backlog, args.retry_share)
        idle = _cpu_seconds(pids)
        await asyncio.sleep(IDLE_SECONDS)  # what the duties cost with no request at all
        cpu = _cpu_seconds(pids)
        idle = (cpu - idle) / IDLE_SECONDS
        rows, seconds = await fa.burst(jobs, args.concurrency)
        cpu = _cpu_seconds(pids) - cpu - idle * seconds
    finally:
        for client in [*clients, *pools]:
            await client.aclose()
    sent = {(a.name, a.spool_id, seq): content for a in agents for seq, content in a.sent.items()}
    lost, duplicated, same = fdb.check(sent, fdb.stored_rows(url))
    figures = {"ingest_rows_per_s": f"{rows / seconds:.0f}",
               "core_cpu_us_per_row": f"{cpu / rows * 1e6:.1f}"}
    if config == "pg":
        backlog = [(a.execution, a.name, a.action, "rtt", *a.sent[seq], a.spool_id, seq)
                   for a in agents for seq in range(before[a.name] + 1, a.seq + 1)]
        copy = fdb.copy_rate(url, backlog)
        figures |= {"copy_rows_per_s": f"{copy:.0f}",
                    "ingest_vs_copy": f"{rows / seconds / copy:.3f}"}
    figures |= {"api_p99_ms": f"{steady.p99():.1f}",
                "api_p99_warmup_ms": f"{warmup.p99():.1f}", "api_calls": str(len(steady.ms)),
                "api_calls_per_s": f"{len(steady.ms) / args.duration:.0f}",
                "api_offered_per_s": f"{args.agents * (1 / 10 + 1 / 5):.0f}",
                **{f"cpu_percent_{who}": f"{v:.0f}" for who, v in shares.items()},
                "api_errors": str(steady.errors + warmup.errors), "lost": str(lost),
                "unsent": str(left),
                "duplicated": str(duplicated), "checksum_match": str(int(same))}
    return figures


class _CpuShares:
    """Where the machine's CPU went during the steady phase, in percent of one CPU."""

    def __init__(self, core_pids: list[int]):
        self.core_pids = core_pids
        self.start = self._now()

    def _now(self) -> tuple[float, float, dict[int, float], float]:
        server = {pid: _cpu_seconds([pid]) for pid in _pids_named("postgres")}
        return _cpu_seconds(self.core_pids), time.process_time(), server, time.perf_counter()

    def percent(self) -> dict[str, float]:
        end = self._now()
        wall = end[3] - self.start[3]
        # Backends that ended during the phase are left out (their CPU is no longer read).
        server = sum(end[2][pid] - self.start[2][pid] for pid in end[2] if pid in self.start[2])
        return {"core": (end[0] - self.start[0]) / wall * 100,
                "loadgen": (end[1] - self.start[1]) / wall * 100,
                "postgres": server / wall * 100}


def _pids_named(name: str) -> list[int]:
    """Processes whose command is ``name`` (the database server's backends)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" ", 2)[1] == f"({name})":
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time the core processes used so far (user and system)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a backend that just ended
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


async def _enrol(clients: list[httpx.AsyncClient], pools: list[Http11Pool],
                 count: int) -> list[fa.Agent]:
    """Node tokens, registrations and executions for ``count`` agents (set up through
    ``clients``; each agent then calls through the pool of its core process)."""
    admin = {"Authorization": f"Bearer {TOKEN}"}
    names = [f"fleet-{i:04d}" for i in range(count)]
    gate = asyncio.Semaphore(16)

    async def enrol(i: int, name: str) -> str:
        client = clients[i % len(clients)]
        async with gate:
            r = await _post(client, "/api/v1/node-tokens", {"node": name}, admin)
            token = r.json()["token"]
            await _post(client, "/api/v1/agent/register", {"name": name, "tools": [TOOL]},
                        {"Authorization": f"Bearer {token}"})
            return token

    tokens = await asyncio.gather(*(enrol(i, n) for i, n in enumerate(names)))
    agents = []
    for first in range(0, count, GROUP):
        group = names[first:first + GROUP]
        execution = await _execution(clients[0], admin, f"fleet{first // GROUP}", group)
        agents += [fa.Agent(name, tokens[first + j], execution, f"a{j}",
                            pools[(first + j) % len(pools)]) for j, name in enumerate(group)]
    return agents


async def _post(client: httpx.AsyncClient, path: str, body: dict, headers: dict,
                tries: int = 5) -> httpx.Response:
    """POST, again after a dropped connection (a keep-alive closed by the core) and, as
    long as it takes, after the admin token's rate limit (429: wait its Retry-After)."""
    attempt = 0
    while True:
        try:
            r = await client.post(path, json=body, headers=headers)
        except httpx.TransportError:
            attempt += 1
            if attempt == tries:
                raise
            await asyncio.sleep(0.5)
            continue
        if r.status_code != 429:
            r.raise_for_status()
            return r
        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))


async def _execution(client: httpx.AsyncClient, admin: dict, scenario: str,
                     nodes: list[str]) -> int:
    actions = [{"name": f"a{j}", "node": n, "tool": "gen", "results": ["rtt"]}
               for j, n in enumerate(nodes)]
    doc = {"name": scenario, "tasks": [{"name": "t", "actions": actions}]}
    r = await client.put(f"/api/v1/scenarios/{scenario}", json=doc, headers=admin)
    r.raise_for_status()
    r = await _post(client, "/api/v1/executions", {"scenario": scenario, "duration": 3600},
                    admin)
    return r.json()["id"]


if __name__ == "__main__":
    main()
