"""Heavy background measurements booked by the core as exclusive system schedules."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.core.conftest import enrol, scenario
from tests.support import ADMIN_TOKEN
from vantagepoint.config import SystemMeasurement
from vantagepoint.core import create_app
from vantagepoint.core.scheduler.system import SystemSchedules
from vantagepoint.core.store.models import Booking, Schedule

HEAVY = {"name": "heavy", "tool": "probe", "config": {"target": "127.0.0.1"},
         "results": ["rtt_ms"], "every": 3600, "duration": 600}


@pytest.fixture
def system_app(core_settings):
    settings = core_settings.model_copy(update={
        "system_measurements": [SystemMeasurement(**HEAVY)], "system_horizon_hours": 6.0,
        "min_lead_seconds": 0.0})
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        # The test runs the passes itself: the duty thread's own pass must not book a
        # node between its enrolment and the test putting it in maintenance.
        client.app.state.coordinator.system._next = float("inf")
        yield client, SystemSchedules(client.app.state.sessions, settings,
                                      client.app.state.policies)


def _system_bookings(client) -> list[Booking]:
    with client.app.state.sessions() as db:
        return list(db.scalars(select(Booking).join(Schedule, Schedule.id == Booking.schedule_id)
                               .where(Schedule.system.is_(True)).order_by(Booking.start)))


def test_system_schedules_cover_active_nodes_and_users_go_around_them(system_app):
    client, system = system_app
    enrol(client, "n1", interfaces=("op0", "op1"))
    enrol(client, "n2")
    enrol(client, "n3")
    client.patch("/api/v1/nodes/n2", json={"status": "maintenance"})
    with client.app.state.sessions.begin() as db:
        from vantagepoint.core.store.models import Node
        db.scalar(select(Node).where(Node.name == "n3")).attributes = {"type": "storage"}

    system.run()
    bookings = _system_bookings(client)
    assert {b.node_name for b in bookings} == {"n1"}  # not in maintenance, not storage
    assert 5 <= len(bookings) <= 7 and all(b.system for b in bookings)
    assert sorted(bookings[0].interfaces) == ["op0", "op1"]  # one action per interface
    system.run()
    assert len(_system_bookings(client)) == len(bookings)  # still booked far enough

    client.put("/api/v1/scenarios/rtt", json=scenario())
    first = bookings[0]
    at = first.start.isoformat()
    r = client.post("/api/v1/schedules", json={"scenario": "rtt", "mode": "at", "start": at,
                                                "duration": 300})
    assert r.status_code == 409, r.text
    assert "system booking" in r.text
    r = client.post("/api/v1/schedules", json={"scenario": "rtt", "mode": "earliest",
                                                "start": at, "duration": 300})
    assert r.status_code == 201, r.text
    start = datetime.fromisoformat(r.json()["occurrences"][0]["start"].replace("Z", "+00:00"))
    assert start >= first.end


def test_storage_nodes_take_no_measurements():
    from vantagepoint.core.scheduler.model import NodeInfo
    from vantagepoint.core.scheduler.policies.node_state import reason

    storage = NodeInfo("s1", {"type": "storage"})
    for status in ("development", "approved"):
        assert "storage node and runs no measurements" in reason(storage, "s1", status)
    assert reason(NodeInfo("d1", {"type": "deployed"}), "d1", "approved") is None
