"""Helpers for archiver tests: a broker-or-skip check, an HTTP receiver, an ingest helper."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import IN_CI
from tests.core.conftest import enrol, scenario
from tests.support import wait_until


def need_broker(name: str, port: int) -> None:
    """Skip (outside CI) when no broker listens on 127.0.0.1:port; under CI=true, fail."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        reason = f"{name} is not running on 127.0.0.1:{port} ({exc.__class__.__name__})"
        if IN_CI:
            pytest.fail(reason + " (CI=true: broker tests must run)")
        pytest.skip(reason)


class Receiver:
    """A real HTTP server that keeps every message POSTed to it."""

    def __init__(self, port: int = 0, status: int = 200):
        self.messages: list[dict] = []
        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.status == 200:
                    receiver.messages += body["messages"]
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def keys(self) -> list[str]:
        return [m["key"] for m in self.messages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def upload(client, count: int, node: str = "n1", spool: str = "spool-aaaa", first: int = 1,
           names=("rtt_ms",)) -> int:
    """Enrol ``node`` if needed, run an execution on it and upload ``count`` results per
    name; the execution's id."""
    token = enrol(client, node)
    assert client.put("/api/v1/scenarios/rtt", json=scenario(node=node)).status_code == 200
    ex = client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 60})
    assert ex.status_code == 201, ex.text
    ex_id = ex.json()["id"]
    records = [{"kind": "result", "seq": first + i * len(names) + j, "execution_id": ex_id,
                "action": "a", "name": name, "ts": 1000.0 + i, "value": float(i)}
               for i in range(count) for j, name in enumerate(names)]
    r = client.post("/api/v1/agent/records", json={"spool_id": spool, "records": records},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return ex_id


def status(client, name: str) -> dict:
    r = client.get("/api/v1/admin/archivers")
    assert r.status_code == 200, r.text
    return next(s for s in r.json() if s["name"] == name)


def wait_status(client, name: str, what: str, timeout: float = 30, **expected) -> dict:
    """Wait until the archiver's status has every ``expected`` value (callables test)."""
    def ok():
        s = status(client, name)
        good = all(v(s[k]) if callable(v) else s[k] == v for k, v in expected.items())
        return s if good else None
    return wait_until(ok, timeout=timeout, what=what)
