"""Secrets never reach a log: a real core and agent, every log file searched afterwards."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy.engine import make_url
from websockets.sync.client import connect

from tests.support import ADMIN_TOKEN, start_core, wait_until
from vantagepoint.client import Client, Scenario

pytestmark = pytest.mark.integration
API = "/api/v1"
PASSWORD = "correct-horse-battery"
HOOK_PASS, HOOK_TOKEN, HOOK_KEY = "hookpass1234", "hooktoken5678", "hookkey9012"
METRICS_TOKEN = "metrics-secret-3456"
DB_PASSWORD = "dbpass-7890"


def _core(database_url, tmp_path):
    url = database_url
    if url.startswith("postgresql"):  # trust auth ignores it; it must not be logged anyway
        url = make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    hook = {"kind": "webhook", "url": f"http://hook:{HOOK_PASS}@127.0.0.1:9/h?token={HOOK_TOKEN}",
            "headers": {"X-Api-Key": HOOK_KEY}, "attempts": 1}
    return start_core(url, tmp_path, notifiers=json.dumps({"ops": hook}),
                      default_notifiers='["ops"]', metrics_token=METRICS_TOKEN)


def _login(core) -> None:
    with httpx.Client(base_url=core.url, timeout=15) as web:
        web.get("/login")
        nonce = web.cookies.get("vp_login_csrf")
        for password in (PASSWORD, PASSWORD + "-wrong"):
            web.post("/login", data={"csrf": nonce, "username": "ann", "password": password})
            nonce = web.cookies.get("vp_login_csrf") or nonce


def _stream(core, token: str) -> None:
    ws_url = core.url.replace("http://", "ws://") + f"{API}/stream?kind=result&token={token}"
    with connect(ws_url, open_timeout=15) as ws:
        assert json.loads(ws.recv(timeout=15))["kind"] == "ready"


def _bad_requests(core, user_token: str) -> None:
    with httpx.Client(base_url=core.url, timeout=15) as c:
        c.get(f"{API}/results?token={user_token}")  # a token where it does not belong
        c.get(f"{API}/users/me", headers={"Authorization": f"Bearer {user_token}x"})
        c.post(f"{API}/users", json={"name": "eve", "password": PASSWORD, "x": 1},
               headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})


def _run_ping(client: Client) -> None:
    s = Scenario("leak")
    s.task("t").action("p", node="n1", tool="ping",
                       config={"target": "127.0.0.1", "interval": 0.2, "timeout": 1},
                       results=["rtt_ms"], conditions=["rtt_ms > 0"])  # always fires
    client.submit(s)
    ex = client.start(s, duration=3).wait(timeout=90)
    assert ex.state == "finished", ex.reason
    assert client.results(execution=ex.id)


def test_no_secret_in_any_log(database_url, tmp_path):
    core = _core(database_url, tmp_path)
    try:
        with Client(core.url, ADMIN_TOKEN) as client:
            client.create_user("ann", password=PASSWORD)
            user_token = client.create_token(user="ann")
            node_token = core.node_token("n1")
            core.start_agent("n1", token=node_token)
            wait_until(lambda: any(n.online for n in client.nodes()), timeout=60,
                       what="the agent to register")
            _login(core)
            _stream(core, user_token)
            _bad_requests(core, user_token)
            _run_ping(client)
            wait_until(lambda: "notifier 'ops' failed" in core.proc.output(), timeout=30,
                       what="the webhook failure to be logged")
    finally:
        for agent in core.agents:
            agent.stop()
        core.proc.stop()
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.rglob("*.log")}
    assert any(n.startswith("agent-") for n in logs) and any(n.startswith("core-") for n in logs)
    everything = "\n".join(logs.values())
    assert re.search(r"WebSocket /api/v1/stream\?kind=result&token=\*\*\*", everything)
    assert "/api/v1/results?token=***" in everything  # the access log is on, and masked
    for secret in (ADMIN_TOKEN, user_token, node_token, PASSWORD, HOOK_PASS, HOOK_TOKEN,
                   HOOK_KEY, METRICS_TOKEN, DB_PASSWORD, ADMIN_TOKEN[4:]):
        for name, text in logs.items():
            assert secret not in text, f"{name} logs a secret: ...{secret[-6:]}"
