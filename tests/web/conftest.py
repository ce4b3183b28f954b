"""The dashboard in-process: the real app and database, no browser."""

from __future__ import annotations

import re

import pytest

from tests.core.conftest import app_client, enrol, scenario  # noqa: F401 - fixtures
from tests.support import ADMIN_TOKEN
from vantagepoint.core.websession import COOKIE, CSRF_HEADER, csrf_for

__all__ = ["app_client", "enrol", "scenario", "execution_with", "signed_in"]


def execution_with(client, values: list[float], node: str = "n1", ts0: float = 1000.0,
                   step: float = 1.0) -> int:
    """An execution of a one-action scenario on ``node`` holding ``values`` as rtt_ms."""
    token = enrol(client, node)
    assert client.put("/api/v1/scenarios/rtt", json=scenario(node=node)).status_code == 200
    ex = client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 60}).json()
    records = [{"kind": "result", "seq": i + 1, "execution_id": ex["id"], "action": "a",
                "name": "rtt_ms", "ts": ts0 + i * step, "value": v}
               for i, v in enumerate(values)]
    r = client.post("/api/v1/agent/records", headers={"Authorization": f"Bearer {token}"},
                    json={"spool_id": "spool-web-1", "records": records})
    assert r.status_code == 200, r.text
    return ex["id"]


def signed_in(client, token: str = ADMIN_TOKEN):
    """The client signed in through the login form (no Authorization header)."""
    client.headers.pop("Authorization", None)
    form = client.get("/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = client.post("/login", data={"csrf": nonce, "token": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303 and client.cookies.get(COOKIE) == token
    return client


@pytest.fixture
def browser_client(app_client):  # noqa: F811 - the re-exported fixture
    """Signed in by cookie, sending the CSRF header as the dashboard's scripts do."""
    client = signed_in(app_client)
    client.headers[CSRF_HEADER] = csrf_for(ADMIN_TOKEN)
    return client
