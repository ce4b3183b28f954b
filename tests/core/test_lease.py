"""The duties lease on a real database: taken, refused, expired, released, dead holders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from vantagepoint.core.lease import Lease, holder_of
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import DutyLease


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def set_holder(sessions, holder: str, seconds: float) -> None:
    with sessions.begin() as db:
        row = db.get(DutyLease, "duties")
        row.holder, row.expires_at = holder, time.time() + seconds


def test_one_holder_until_release(sessions):
    a, b = Lease(sessions, "h:1:a", 5), Lease(sessions, "h:2:b", 5)
    assert a.try_hold() and a.held()
    assert not b.try_hold() and not b.held()
    assert a.try_hold(), "renewal by the holder"
    with sessions() as db:
        assert holder_of(db)["holder"] == "h:1:a"
    a.release()
    assert not a.held() and b.try_hold()


def test_taken_over_only_after_expiry(sessions):
    set_holder(sessions, "elsewhere:4242:x", 1.5)
    mine = Lease(sessions, f"{socket.gethostname()}:{os.getpid()}:m", 5)
    assert not mine.try_hold()
    time.sleep(1.6)
    assert mine.try_hold()


def test_dead_holder_on_this_host_is_taken_over_at_once(sessions):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    set_holder(sessions, f"{socket.gethostname()}:{gone.pid}:x", 60)
    assert Lease(sessions, "me:1:m", 5).try_hold()


def test_live_holder_on_this_host_keeps_it(sessions):
    set_holder(sessions, f"{socket.gethostname()}:{os.getpid()}:x", 60)
    assert not Lease(sessions, "me:1:m", 5).try_hold()


def test_holder_stops_trusting_its_lease_before_it_can_be_taken(sessions):
    lease = Lease(sessions, "h:1:a", 1.5)
    assert lease.try_hold()
    time.sleep(0.6)
    assert not lease.held(), "held() must end a margin before the row expires"
