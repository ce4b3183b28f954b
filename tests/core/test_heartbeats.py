"""Heartbeats kept per process and written once per flush interval (core/heartbeats.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.core.conftest import enrol
from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.core.app import create_app
from vantagepoint.core.heartbeats import Beat, HeartbeatBuffer
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Node
from vantagepoint.core.store.types import utcnow

API = "/api/v1"


def _client(core_settings, flush_seconds: float) -> TestClient:
    settings = core_settings.model_copy(update={"heartbeat_flush_seconds": flush_seconds})
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    return client


def _beat(client, token: str, **body) -> int:
    return client.post(f"{API}/agent/heartbeat", json=body,
                       headers={"Authorization": f"Bearer {token}"}).status_code


def _node(database_url: str, name: str) -> Node:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as db:
        node = db.scalar(select(Node).where(Node.name == name))
    engine.dispose()
    return node


def test_a_heartbeat_reaches_the_database_within_the_flush_interval(core_settings, database_url):
    with _client(core_settings, 0.2) as client:
        token = enrol(client, "n1")
        assert _beat(client, token) == 200  # the first: written at once
        first = _node(database_url, "n1").last_seen
        time.sleep(0.05)
        assert _beat(client, token, ts=time.time() - 5.0) == 200  # a clock 5 s behind
        assignments = client.get(f"{API}/agent/assignments",  # writes a later last_seen
                                 headers={"Authorization": f"Bearer {token}"})
        assert assignments.status_code == 200
        wait_until(lambda: _node(database_url, "n1").clock_skew_ms is not None, timeout=10,
                   what="the skew of the second heartbeat in the nodes table")
        wait_until(lambda: _node(database_url, "n1").last_seen > first, timeout=10,
                   what="the second heartbeat in the nodes table")
        node = _node(database_url, "n1")
        assert node.clock_skew_ms == pytest.approx(5000, abs=1000)
        assert _beat(client, token) == 200  # no clock reading: the skew measured stays
        seen = node.last_seen
        wait_until(lambda: _node(database_url, "n1").last_seen > seen, timeout=10,
                   what="the third heartbeat")
        assert _node(database_url, "n1").clock_skew_ms == pytest.approx(5000, abs=1000)


def test_an_unregistered_node_is_told_so_every_time(core_settings):
    with _client(core_settings, 0.2) as client:
        token = client.post(f"{API}/node-tokens", json={"node": "ghost"}).json()["token"]
        for _ in range(2):
            r = client.post(f"{API}/agent/heartbeat", json={},
                            headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 404
            assert "not registered" in r.json()["message"]


def test_a_clean_shutdown_writes_what_is_pending(core_settings, database_url):
    with _client(core_settings, 10.0) as client:  # no flush would come before the stop
        token = enrol(client, "n1")
        assert _beat(client, token) == 200
        first = _node(database_url, "n1").last_seen
        time.sleep(0.05)
        assert _beat(client, token, ts=time.time()) == 200
        assert _node(database_url, "n1").last_seen == first  # kept in memory
    assert _node(database_url, "n1").last_seen > first


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as db:
        db.add_all([Node(name="a"), Node(name="b")])
    yield sessions
    engine.dispose()


def test_a_failed_write_keeps_the_beats_and_a_newer_one_wins(store, tmp_path):
    beats, now = HeartbeatBuffer(), utcnow()
    beats.note("a", Beat(now, 1.0))
    beats.note("b", Beat(now, None))
    broken = make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/no/such/dir/core.db"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        beats.flush(broken)
    assert beats.pending() == 2
    beats.note("a", Beat(now + timedelta(seconds=1), 2.0))  # newer than the one kept
    assert beats.flush(store) == 2
    assert beats.pending() == 0
    with store() as db:
        rows = {n.name: n for n in db.scalars(select(Node))}
    assert rows["a"].last_seen == now + timedelta(seconds=1) and rows["a"].clock_skew_ms == 2.0
    assert rows["b"].last_seen == now and rows["b"].clock_skew_ms is None


def test_an_older_beat_never_moves_last_seen_back_but_brings_its_skew(store):
    beats, now = HeartbeatBuffer(), utcnow()
    beats.note("a", Beat(now, 1.0))
    beats.flush(store)
    beats.note("a", Beat(now - timedelta(seconds=3), 9.0))  # another process's, later flushed
    beats.flush(store)
    with store() as db:
        node = db.scalar(select(Node).where(Node.name == "a"))
    assert node.last_seen == now and node.clock_skew_ms == 9.0


def test_nodes_registered_before_a_start_or_through_this_process_are_known(core_settings):
    with _client(core_settings, 0.2) as client:
        enrol(client, "n1")
        assert client.app.state.heartbeats.knows("n1")  # registered here: learnt at commit
    with _client(core_settings, 0.2) as client:  # a restart: known from the nodes table
        beats = client.app.state.heartbeats
        assert beats.knows("n1") and not beats.knows("n2")
