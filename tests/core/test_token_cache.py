"""Node tokens cached per process: a revocation anywhere empties the cache within a poll."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.core.conftest import enrol
from tests.support import ADMIN_TOKEN
from vantagepoint.core.app import create_app
from vantagepoint.core.auth import issue_token
from vantagepoint.core.principals import PrincipalCache
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate

API = "/api/v1"
POLL = 0.5


@pytest.fixture
def cached(core_settings):
    settings = core_settings.model_copy(update={"token_cache_seconds": 600,
                                                "token_stamp_poll_seconds": POLL})
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


def _revoke_by_sql(database_url: str, token_id: int) -> None:
    engine = create_engine(database_url)
    with engine.begin() as c:  # as another core process, or an operator, would
        c.execute(text("UPDATE tokens SET revoked_at = :t WHERE id = :i"),
                  {"t": datetime(2026, 1, 1), "i": token_id})
    engine.dispose()


def test_a_token_revoked_elsewhere_is_refused_within_a_poll(cached, database_url):
    token = enrol(cached, "n1")
    assert _beat(cached, token) == 200  # cached for 10 minutes
    _revoke_by_sql(database_url, _token_id(cached, "n1"))
    time.sleep(2 * POLL + 0.2)
    assert _beat(cached, token) == 401


def test_every_change_to_a_token_bumps_the_stamp(cached, database_url):
    enrol(cached, "n1")
    engine = create_engine(database_url)
    read = text("SELECT version FROM token_stamp WHERE id = 1")
    with engine.connect() as c:
        before = c.scalar(read)
    _revoke_by_sql(database_url, _token_id(cached, "n1"))
    with engine.begin() as c:
        after_update = c.scalar(read)
        c.execute(text("DELETE FROM tokens WHERE node_name = 'n1'"))
    with engine.connect() as c:
        after_delete = c.scalar(read)
    engine.dispose()
    assert before < after_update < after_delete


def test_the_cache_is_not_trusted_while_the_stamp_cannot_be_read(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as db:
        _, secret = issue_token(db, kind="node", node_name="n1")
    cache = PrincipalCache(ttl=600)
    assert cache.get(secret) is None and cache.verify(sessions, secret).node_name == "n1"
    assert cache.get(secret) is None  # not trusted before the stamp was read once
    cache.poll(engine, POLL)
    assert cache.verify(sessions, secret) == cache.get(secret)
    with engine.begin() as c:
        c.execute(text("ALTER TABLE token_stamp RENAME TO token_stamp_away"))
    try:
        cache.poll(engine, POLL)
        assert cache.get(secret) is None  # unreadable: emptied, and not trusted
        cache.verify(sessions, secret)
        assert cache.get(secret) is None
    finally:
        with engine.begin() as c:
            c.execute(text("ALTER TABLE token_stamp_away RENAME TO token_stamp"))
        engine.dispose()


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
