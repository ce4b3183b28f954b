"""An in-process core whose alarms go to real endpoints: a local HTTP server and a command."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from tests.core.conftest import enrol, scenario
from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.core import create_app

WRITE_STDIN = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"


class Hook:
    """A local HTTP server that records POSTed JSON (failing the first ``fail_first``)."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict]] = []
        self.attempts = 0
        self.fail_first = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.attempts <= hook.fail_first:
                    self.send_response(503)
                else:
                    hook.received.append((time.time(), json.loads(body)))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alarm"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alarm_ids(self) -> list[int]:
        return [body["alarm"]["id"] for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def hook():
    with Hook() as server:
        yield server


@pytest.fixture
def alarm_settings(core_settings, hook, tmp_path):
    notifiers = {
        "hook": {"kind": "webhook", "url": hook.url, "backoff": 0.05},
        "file": {"kind": "command", "argv": [sys.executable, "-c", WRITE_STDIN,
                                             str(tmp_path / "alarms.jsonl")]},
    }
    return core_settings.model_copy(update={"notifiers": notifiers,
                                            "default_notifiers": ["log", "hook", "file"]})


@pytest.fixture
def alarm_client(alarm_settings):
    with TestClient(create_app(alarm_settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


def as_node(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def start_watched(client, conditions, node="n1", name="rtt", tools=None, **action) -> tuple:
    """Enrol the node, store a scenario with conditions, start it; (node token, execution)."""
    token = enrol(client, node, **({"tools": tools} if tools else {}))
    doc = scenario(name, node, conditions=conditions, **action)
    r = client.put(f"/api/v1/scenarios/{name}", json=doc)
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/executions", json={"scenario": name, "duration": 30})
    assert r.status_code == 201, r.text
    return token, r.json()


def post_alarms(client, token, execution_id, *alarms, spool="spool-0001", action="a"):
    body = {"spool_id": spool, "alarms": [
        {"seq": seq, "execution_id": execution_id, "action": action, "condition": condition,
         "result": condition.split()[0].split("(")[-1].rstrip(","), "value": value,
         "ts": time.time(), "raised_at": time.time()}
        for seq, condition, value in alarms]}
    return client.post("/api/v1/agent/alarms", json=body, headers=as_node(token))


def delivered(hook: Hook, count: int, timeout: float = 15.0) -> list[dict]:
    wait_until(lambda: len(hook.received) >= count, timeout=timeout,
               what=f"{count} alarm(s) at the webhook")
    return [body for _, body in hook.received]
