"""Booking stores the schedule row directly: the session holds it as loaded, changes persist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.allocate import book, plan
from vantagepoint.core.scheduler.registry import load_policies
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Booking, Node, QuotaUsage, Schedule, Spec, User
from vantagepoint.spec.tools import ToolInfo
from vantagepoint.wire import ScheduleCreate

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
TOOL = ToolInfo(name="probe", version="1.0", config_schema={"type": "object"}, results=[])
SCENARIO = {"name": "s", "roles": ["probe"], "status": "approved", "tasks": [
    {"name": "t", "actions": [{"name": "a", "node": "probe", "tool": "probe"}]}]}
SETTINGS = CoreSettings(database_url="sqlite://", min_lead_seconds=0)


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as db:
        user = User(name="alice")
        db.add(user)
        db.flush()
        db.add(Spec(kind="scenario", owner_id=user.id, name="s", spec=SCENARIO))
        db.add_all(Node(name=n, interfaces=[{"name": "op0"}], status="active",
                        tools=[TOOL.model_dump(mode="json")], attributes={"type": "deployed"},
                        registered_at=NOW, last_seen=NOW) for n in ("n1", "n2"))
    yield sessions
    engine.dispose()


def _book(db, every: float | None = None):
    user = db.scalar(select(User).where(User.name == "alice"))
    req = ScheduleCreate(scenario="s", mode="earliest", start=NOW, duration=600, nodes=["n1"],
                         every=every, until=NOW + timedelta(hours=3) if every else None)
    return book(db, user, req, plan(db, user, req, SETTINGS, load_policies(SETTINGS), NOW))


def test_the_booked_schedule_is_held_as_stored_and_clean(sessions):
    with sessions.begin() as db:
        schedule = _book(db, every=3600)
        assert schedule in db and not db.is_modified(schedule) and not db.dirty
        assert (schedule.owner.name, schedule.state, schedule.binding) == (
            "alice", "active", {"probe": ["n1"]})
        held = (schedule.id, schedule.node_seconds, schedule.every, schedule.created_at)
    with sessions() as db:
        stored = db.get(Schedule, held[0])
        assert (stored.id, stored.node_seconds, stored.every, stored.created_at) == held
        assert held[1] == 3 * 600
        assert db.scalar(select(func.count()).select_from(Booking)
                         .where(Booking.schedule_id == held[0])) == 3
        assert db.get(QuotaUsage, stored.owner_id).node_seconds == 3 * 600


def test_a_change_made_after_booking_is_stored(sessions):
    with sessions.begin() as db:
        schedule = _book(db)
        schedule.system = True  # as the system schedules do
        schedule_id = schedule.id
    with sessions() as db:
        assert db.get(Schedule, schedule_id).system is True
