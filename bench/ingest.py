"""Ingest throughput of a real core process over HTTP, against a raw insert baseline.

Prints one figure per line:
  ingest_rows_per_s   result rows/s stored through POST /api/v1/agent/records
  raw_rows_per_s      rows/s of a plain executemany into the same kind of database
  ingest_vs_raw       the ratio of the two (same rows, same run)
  duplicated          rows stored more than once after every batch was sent twice

Usage: python bench/ingest.py [--rows N] [--batch B] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
from _core import start_core

TOKEN = "vpu_bench-admin-token-0123456789abcdef"


def main() -> None:
    args = _args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/core.db"
        core, base = start_core(url, Path(tmp), TOKEN)
        try:
            node_token, execution = _prepare(base)
            rate, duplicated = _ingest(base, node_token, execution, args.rows, args.batch)
        finally:
            core.terminate()
            core.wait(timeout=10)
        raw = _raw_sqlite(Path(tmp) / "raw.db", args.rows, args.batch)
    print(f"ingest_rows_per_s={rate:.0f}")
    print(f"raw_rows_per_s={raw:.0f}")
    print(f"ingest_vs_raw={rate / raw:.3f}")
    print(f"duplicated={duplicated}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


def _prepare(base: str) -> tuple[str, int]:
    """A node with a minimal tool, a scenario on it and an execution to write into."""
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    node_token = admin.post("/api/v1/node-tokens", json={"node": "b1"}).json()["token"]
    tool = {"name": "gen", "version": "1", "results": [{"name": "v"}]}
    httpx.post(base + "/api/v1/agent/register", json={"name": "b1", "tools": [tool]},
               headers={"Authorization": f"Bearer {node_token}"}).raise_for_status()
    doc = {"name": "b", "tasks": [{"name": "t", "actions": [
        {"name": "a", "node": "b1", "tool": "gen", "results": ["v"]}]}]}
    admin.put("/api/v1/scenarios/b", json=doc).raise_for_status()
    ex = admin.post("/api/v1/executions", json={"scenario": "b", "duration": 3600}).json()
    return node_token, ex["id"]


def _batches(execution: int, rows: int, batch: int):
    for first in range(1, rows + 1, batch):
        yield [{"kind": "result", "seq": seq, "execution_id": execution, "action": "a",
                "name": "v", "ts": 1.7e9 + seq, "value": seq * 0.001}
               for seq in range(first, min(first + batch, rows + 1))]


def _ingest(base: str, token: str, execution: int, rows: int, batch: int) -> tuple[float, int]:
    node = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                        timeout=60)
    payloads = [{"spool_id": "bench-spool-1", "records": b}
                for b in _batches(execution, rows, batch)]
    start = time.perf_counter()
    for payload in payloads:
        node.post("/api/v1/agent/records", json=payload).raise_for_status()
    elapsed = time.perf_counter() - start
    stored_again = sum(node.post("/api/v1/agent/records", json=p).json()["stored"]
                       for p in payloads)
    return rows / elapsed, stored_again


def _raw_sqlite(path: Path, rows: int, batch: int) -> float:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("create table r (id integer primary key, execution_id int, node_name text, "
               "action text, name text, ts real, value text, value_num real, spool_id text, "
               "seq int, unique (node_name, spool_id, seq))")
    start = time.perf_counter()
    for records in _batches(1, rows, batch):
        db.executemany("insert into r (execution_id, node_name, action, name, ts, value, "
                       "value_num, spool_id, seq) values (1, 'b1', 'a', 'v', ?, ?, ?, 's', ?)",
                       [(r["ts"], str(r["value"]), r["value"], r["seq"]) for r in records])
        db.commit()
    elapsed = time.perf_counter() - start
    db.close()
    return rows / elapsed


if __name__ == "__main__":
    main()
