"""System schedules: heavy background measurements the core books on every suitable node.

For each configured measurement and each active node that offers its tool
(and matches its filter), the core keeps a periodic schedule booked
``system_horizon_hours`` ahead, owned by the system user. Its bookings are
system bookings: the ``exclusive`` policy never lets anything share them, so
user schedules go around them. The scenario is named
``system.<measurement>.<node>``; a schedule is renewed from where the last one
ends when its last occurrence comes within half the horizon.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.config import CoreSettings, SystemMeasurement
from vantagepoint.core.catalog import StoreCatalog, find_spec
from vantagepoint.core.scheduler import quotas
from vantagepoint.core.scheduler.allocate import book, lock_scheduler, plan
from vantagepoint.core.scheduler.calendar_db import node_info
from vantagepoint.core.scheduler.filters import parse_filter
from vantagepoint.core.scheduler.model import Policy
from vantagepoint.core.store.models import Booking, Node, Schedule, Spec, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import VantageError
from vantagepoint.spec.validate import resolve_scenario
from vantagepoint.wire import ScheduleCreate

log = logging.getLogger(__name__)
UNLIMITED = 10.0**15
CHECK_SECONDS = 60.0


def scenario_name(m: SystemMeasurement, node: str) -> str:
    return f"system.{m.name}.{node}"


def scenario_doc(m: SystemMeasurement, node: Node) -> dict:
    """One action per measurement interface (or one without), bound to the node."""
    interfaces = [i["name"] for i in node.interfaces] if m.per_interface else []
    base = {"node": node.name, "tool": m.tool, "config": m.config, "results": m.results}
    actions = ([{**base, "name": f"{m.name}-{i}", "interface": i} for i in interfaces]
               or [{**base, "name": m.name}])
    status = "development" if node.attributes.get("type") == "testing" else "approved"
    return {"name": scenario_name(m, node.name), "status": status,
            "tasks": [{"name": m.name, "actions": actions}]}


def system_user(db: Session, settings: CoreSettings) -> User:
    """The owner of system schedules, created with an unlimited quota on first use."""
    user = db.scalar(select(User).where(User.name == settings.system_user))
    if user is None:
        user = User(name=settings.system_user, is_admin=False)
        db.add(user)
        db.flush()
        quotas.set_limits(db, user, settings, UNLIMITED, int(UNLIMITED))
    return user


def suitable(m: SystemMeasurement, node: Node) -> bool:
    if node.status != "active" or node.attributes.get("type") == "storage":
        return False
    if not any(t["name"] == m.tool for t in node.tools):
        return False
    return m.filter is None or parse_filter(m.filter).matches(node_info(node))


def booked_until(db: Session, user: User, name: str) -> datetime | None:
    """Where the active system schedules of scenario ``name`` end."""
    return db.scalar(select(func.max(Booking.end)).join(Schedule, Schedule.id ==
                                                        Booking.schedule_id)
                     .where(Schedule.owner_id == user.id, Schedule.scenario_name == name,
                            Schedule.system.is_(True), Schedule.state == "active",
                            Booking.state == "reserved"))


def ensure(db: Session, settings: CoreSettings, policies: list[Policy], now: datetime,
           m: SystemMeasurement, node: Node) -> Schedule | None:
    """Book the next stretch of ``m`` on ``node`` when the booked one runs short."""
    user = system_user(db, settings)
    name = scenario_name(m, node.name)
    horizon = timedelta(hours=settings.system_horizon_hours)
    until = booked_until(db, user, name)
    if until is not None and until > now + horizon / 2:
        return None
    _store(db, user, scenario_doc(m, node))
    start = max(now + timedelta(seconds=settings.min_lead_seconds + 60), until or now)
    req = ScheduleCreate(scenario=name, mode="earliest", start=start, duration=m.duration,
                         every=m.every, until=start + horizon)
    found = plan(db, user, req, settings, policies, now, system=True)
    schedule = book(db, user, req, found)
    schedule.system = True
    log.info("system schedule %s booked: %s on %s, %d bookings", schedule.id, m.name,
             node.name, len(found.proposal.bookings))
    return schedule


def _store(db: Session, user: User, doc: dict) -> None:
    resolve_scenario(doc, StoreCatalog(db, user.id))  # refuses a bad configuration
    row = find_spec(db, "scenario", user.id, doc["name"])
    if row is None:
        db.add(Spec(kind="scenario", owner=user, name=doc["name"], spec=doc, version=1))
    elif row.spec != doc:
        row.spec, row.version, row.updated_at = doc, row.version + 1, utcnow()
    db.flush()


class SystemSchedules:
    """Keeps every system measurement booked; run from the core's duty thread."""

    def __init__(self, sessions: sessionmaker, settings: CoreSettings, policies: list[Policy]):
        self.sessions, self.settings, self.policies = sessions, settings, policies
        self._next = 0.0

    def maybe_run(self) -> None:
        if not self.settings.system_measurements or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + CHECK_SECONDS
        self.run()

    def run(self) -> None:
        """One pass over every measurement and node; one failure does not stop the rest."""
        with self.sessions() as db:
            names = list(db.scalars(select(Node.name).order_by(Node.name)))
        for m in self.settings.system_measurements:
            for name in names:
                try:
                    with self.sessions.begin() as db:
                        lock_scheduler(db)
                        node = db.scalar(select(Node).where(Node.name == name))
                        if node is not None and suitable(m, node):
                            ensure(db, self.settings, self.policies, utcnow(), m, node)
                except VantageError as exc:
                    log.warning("system measurement %s cannot be booked on %s: %s", m.name,
                                name, exc)
