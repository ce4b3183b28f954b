"""Turning due bookings into executions, and freeing bookings when executions end."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core.catalog import StoreCatalog
from vantagepoint.core.run.create import pin_versions
from vantagepoint.core.run.logbook import core_log
from vantagepoint.core.scheduler.binding import bound, nodes_of
from vantagepoint.core.scheduler.calendar_cache import touch
from vantagepoint.core.store.models import Booking, Execution, ExecutionNode, Schedule
from vantagepoint.core.store.types import utcnow
from vantagepoint.core.studies.link import attach_study
from vantagepoint.errors import VantageError
from vantagepoint.spec.validate import resolve_scenario
from vantagepoint.wire import ExecState, NodeState

log = logging.getLogger(__name__)


def due_occurrences(db: Session, until: datetime) -> list[tuple[int, int]]:
    """(schedule, occurrence) pairs booked to start before ``until`` with no execution yet."""
    rows = db.execute(select(Booking.schedule_id, Booking.occurrence).where(
        Booking.state == "reserved", Booking.execution_id.is_(None), Booking.start <= until)
        .distinct().order_by(Booking.schedule_id, Booking.occurrence))
    return [(s, o) for s, o in rows]


def materialize(db: Session, schedule_id: int, occurrence: int) -> Execution | None:
    """Create the execution of one occurrence, resolving the scenario as it is now."""
    parts = list(db.scalars(select(Booking).where(
        Booking.schedule_id == schedule_id, Booking.occurrence == occurrence,
        Booking.state == "reserved", Booking.execution_id.is_(None)).with_for_update()))
    if not parts:
        return None
    schedule = db.get(Schedule, schedule_id)
    start = min(p.start for p in parts)
    duration = (max(p.end for p in parts) - start).total_seconds()
    ex = Execution(owner_id=schedule.owner_id, schedule_id=schedule_id, occurrence=occurrence,
                   scenario_name=schedule.scenario_name, scenario_version=0, snapshot={},
                   state=ExecState.QUEUED, start_at=start, duration=duration)
    db.add(ex)
    db.flush()
    attach_study(db, ex)
    _freeze(db, ex, schedule, parts)
    for part in parts:
        part.execution_id = ex.id
    return ex


def _freeze(db: Session, ex: Execution, schedule: Schedule, parts: list[Booking]) -> None:
    from vantagepoint.core.catalog import find_spec

    row = find_spec(db, "scenario", schedule.owner_id, schedule.scenario_name)
    try:
        if row is None:
            raise VantageError(f"scenario {schedule.scenario_name!r} was deleted")
        catalog = StoreCatalog(db, schedule.owner_id)
        spec = bound(resolve_scenario(row.spec, catalog), schedule.binding)
        pin_versions(spec, catalog)
    except VantageError as exc:
        _fail_unresolvable(db, ex, parts, str(exc))
        return
    ex.snapshot, ex.scenario_version = spec.model_dump(mode="json"), row.version
    for node in nodes_of(spec):
        ex.nodes.append(ExecutionNode(node_name=node, state=NodeState.ASSIGNED))
    core_log(db, ex.id, f"occurrence {ex.occurrence} of schedule {schedule.id}: scenario "
                        f"{row.name!r} v{row.version} from {ex.start_at.isoformat()} for "
                        f"{ex.duration:g} s on {', '.join(nodes_of(spec))}")


def _fail_unresolvable(db: Session, ex: Execution, parts: list[Booking], reason: str) -> None:
    ex.state, ex.reason, ex.ended_at = ExecState.FAILED, f"cannot run: {reason}", utcnow()
    for part in parts:
        part.state = "released"
    touch(db)
    core_log(db, ex.id, ex.reason, level="error")


def materialize_due(sessions: sessionmaker, settings: CoreSettings) -> None:
    """Give every booking due within the deploy window its execution."""
    until = utcnow() + timedelta(seconds=settings.deploy_ahead_seconds)
    with sessions() as db:
        due = due_occurrences(db, until)
    for schedule_id, occurrence in due:
        try:
            with sessions.begin() as db:
                materialize(db, schedule_id, occurrence)
        except Exception:
            log.exception("materializing schedule %s occurrence %s failed", schedule_id,
                          occurrence)


def release(db: Session, ex: Execution) -> None:
    """Free the calendar from the moment an execution ended (it may end early)."""
    end = ex.ended_at or utcnow()
    parts = db.scalars(select(Booking).where(Booking.execution_id == ex.id,
                                             Booking.state == "reserved")).all()
    for part in parts:
        part.state = "released"
        part.end = max(part.start, min(part.end, end))
    if parts:
        touch(db)
