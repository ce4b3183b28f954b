"""Archiving cost and drain rate: a real core with one http archiver and a real receiver.

Prints one figure per line:
  archived_ingest_rows_per_s  result rows/s stored through POST /api/v1/agent/records while
                              an archiver queues each in the outbox (same transaction)
  archive_rows_per_s          rows/s delivered to the receiver, from the first upload until
                              the backlog is empty
  archive_lost                results never delivered
  archive_duplicated          results delivered more than once

Usage: python bench/archive.py [--rows N] [--batch B] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _core import start_core  # noqa: E402
from ingest import TOKEN, _batches, _prepare  # noqa: E402


class Receiver(BaseHTTPRequestHandler):
    keys: list[str] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.keys += [m["key"] for m in body["messages"]]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    args = _args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["VANTAGE_ARCHIVERS"] = json.dumps([{
        "name": "bench", "kind": "http",
        "options": {"url": f"http://127.0.0.1:{server.server_address[1]}/in"}}])
    os.environ["VANTAGE_ARCHIVE_POLL_SECONDS"] = "0.05"
    os.environ["VANTAGE_ARCHIVE_BATCH"] = str(args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        core, base = start_core(args.database_url or f"sqlite:///{tmp}/core.db", Path(tmp), TOKEN)
        try:
            node_token, execution = _prepare(base)
            ingest_rate, archive_rate = _run(base, node_token, execution, args)
        finally:
            core.terminate()
            core.wait(timeout=10)
            server.shutdown()
    expected = {f"b1/bench-spool-1/{seq}" for seq in range(1, args.rows + 1)}
    print(f"archived_ingest_rows_per_s={ingest_rate:.0f}")
    print(f"archive_rows_per_s={archive_rate:.0f}")
    print(f"archive_lost={len(expected - set(Receiver.keys))}")
    print(f"archive_duplicated={len(Receiver.keys) - len(set(Receiver.keys))}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


def _run(base: str, token: str, execution: int, args) -> tuple[float, float]:
    node = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                        timeout=60)
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
    start = time.perf_counter()
    for records in _batches(execution, args.rows, args.batch):
        node.post("/api/v1/agent/records",
                  json={"spool_id": "bench-spool-1", "records": records}).raise_for_status()
    ingested = time.perf_counter() - start
    deadline = time.monotonic() + 600
    while admin.get("/api/v1/admin/archivers").json()[0]["backlog"] and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    drained = time.perf_counter() - start
    return args.rows / ingested, args.rows / drained


if __name__ == "__main__":
    main()
