"""Node tokens cached per process (token_cache_seconds): staleness stays bounded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.core.conftest import enrol
from tests.support import ADMIN_TOKEN
from vantagepoint.core.app import create_app

API = "/api/v1"
TTL = 2.0


@pytest.fixture
def cached(core_settings):
    settings = core_settings.model_copy(update={"token_cache_seconds": TTL})
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


def _beat(client, token: str) -> int:
    return client.post(f"{API}/agent/heartbeat", json={},
                       headers={"Authorization": f"Bearer {token}"}).status_code


def _token_id(client, node: str) -> int:
    tokens = client.get(f"{API}/tokens").json()
    return next(t["id"] for t in tokens if t["node"] == node)


def test_a_token_revoked_through_this_process_is_refused_at_once(cached):
    token = enrol(cached, "n1")
    assert _beat(cached, token) == 200  # now cached
    assert cached.delete(f"{API}/tokens/{_token_id(cached, 'n1')}").status_code == 204
    assert _beat(cached, token) == 401


def test_a_token_revoked_elsewhere_is_refused_within_the_bound(cached, database_url):
    token = enrol(cached, "n1")
    assert _beat(cached, token) == 200
    engine = create_engine(database_url)
    with engine.begin() as c:  # as another core process would
        c.execute(text("UPDATE tokens SET revoked_at = :t WHERE id = :i"),
                  {"t": datetime(2026, 1, 1), "i": _token_id(cached, "n1")})
    engine.dispose()
    time.sleep(TTL + 0.1)
    assert _beat(cached, token) == 401


def test_expiry_is_checked_at_use_even_while_cached(core_settings):
    settings = core_settings.model_copy(update={"token_cache_seconds": 600})
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        enrol(client, "n1")
        soon = datetime.now(UTC) + timedelta(seconds=3)
        token = client.post(f"{API}/node-tokens", json={"node": "n1",
                                                       "expires_at": soon.isoformat()})
        token = token.json()["token"]
        assert _beat(client, token) == 200  # cached for 10 minutes
        time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
        r = client.post(f"{API}/agent/heartbeat", json={},
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "expired" in r.json()["message"], r.text


def test_an_unknown_node_gets_404_from_the_one_update(cached):
    token = cached.post(f"{API}/node-tokens", json={"node": "ghost"}).json()["token"]
    r = cached.post(f"{API}/agent/heartbeat", json={"ts": time.time()},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404 and "POST /agent/register" in r.json()["message"]
