"""Schedules as users see them: create (or dry-run), read, cancel; the low-priority queue."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core.run.coordinator import move
from vantagepoint.core.run.states import EXEC_FINAL
from vantagepoint.core.scheduler import quotas
from vantagepoint.core.scheduler.allocate import Plan, book, lock_scheduler, plan
from vantagepoint.core.scheduler.binding import selection
from vantagepoint.core.scheduler.calendar_cache import touch
from vantagepoint.core.scheduler.materialize import materialize
from vantagepoint.core.scheduler.model import Policy
from vantagepoint.core.scheduler.request import check_limits
from vantagepoint.core.store.models import Booking, Execution, Schedule, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Conflict, Unschedulable, VantageError
from vantagepoint.wire import ExecState, OccurrenceOut, ScheduleCreate, ScheduleOut

log = logging.getLogger(__name__)
WAITING = "waiting"


def create(db: Session, user: User, req: ScheduleCreate, settings: CoreSettings,
           policies: list[Policy]) -> ScheduleOut:
    """Book the request whole, or only show what it would take (dry run)."""
    now = utcnow()
    if req.mode == "low_priority":
        return _enqueue(db, user, req, settings, now)
    lock_scheduler(db)
    found = plan(db, user, req, settings, policies, now)
    if req.dry_run:
        return plan_out(user, req, found)
    schedule = book(db, user, req, found)
    return schedule_out(db, schedule)


def _enqueue(db: Session, user: User, req: ScheduleCreate, settings: CoreSettings,
             now) -> ScheduleOut:
    """Low priority: check what can be checked now, then wait for an idle slot."""
    from vantagepoint.core.scheduler.allocate import scenario_spec

    check_limits(req, settings, now)
    selection(scenario_spec(db, user, req.scenario), req)
    if req.dry_run:
        return ScheduleOut(owner=user.name, scenario=req.scenario, mode=req.mode, state=WAITING,
                           duration=req.duration, every=None, shared=False, node_seconds=0,
                           data_bytes=0, occurrences=[], dry_run=True)
    schedule = Schedule(owner=user, scenario_name=req.scenario, mode=req.mode,
                        request=req.model_dump(mode="json"), state=WAITING,
                        duration=req.duration)
    db.add(schedule)
    db.flush()
    return schedule_out(db, schedule)


def start_waiting(sessions: sessionmaker, settings: CoreSettings,
                  policies: list[Policy]) -> None:
    """Start each waiting low-priority schedule whose nodes are idle for its whole duration."""
    with sessions() as db:
        ids = db.scalars(select(Schedule.id).where(Schedule.state == WAITING)
                         .order_by(Schedule.id)).all()
    for schedule_id in ids:
        try:
            with sessions.begin() as db:
                _try_start(db, db.get(Schedule, schedule_id), settings, policies)
        except Exception:
            log.exception("starting low-priority schedule %s failed", schedule_id)


def _try_start(db: Session, schedule: Schedule, settings: CoreSettings,
               policies: list[Policy]) -> None:
    lock_scheduler(db)
    if schedule.state != WAITING:
        return
    req = ScheduleCreate.model_validate({**schedule.request, "mode": "at",
                                         "start": utcnow().isoformat(), "dry_run": False})
    try:
        found = plan(db, schedule.owner, req, settings, policies, utcnow())
    except Unschedulable:
        return  # not idle yet (or no quota): keep waiting
    except VantageError as exc:
        schedule.state = "failed"
        log.warning("low-priority schedule %s cannot run: %s", schedule.id, exc)
        return
    book(db, schedule.owner, req, found, schedule)
    materialize(db, schedule.id, 0)


def cancel(db: Session, schedule: Schedule, by: str) -> ScheduleOut:
    """Cancel future occurrences (refunded) and stop running ones (state canceled)."""
    if schedule.state in ("canceled", "failed"):
        raise Conflict(f"schedule {schedule.id} is {schedule.state} already")
    refund_seconds, refund_occurrences = 0.0, set()
    for booking in db.scalars(select(Booking).where(Booking.schedule_id == schedule.id,
                                                    Booking.state == "reserved")):
        ex = db.get(Execution, booking.execution_id) if booking.execution_id else None
        if ex is None or ex.state in (ExecState.QUEUED, ExecState.DEPLOYING, ExecState.READY):
            booking.state = "canceled"
            refund_seconds += (booking.end - booking.start).total_seconds()
            refund_occurrences.add(booking.occurrence)
        if ex is not None and ex.state not in EXEC_FINAL:
            move(db, ex, ExecState.CANCELED, f"schedule {schedule.id} canceled by {by}")
    _refund(db, schedule, refund_seconds, refund_occurrences)
    touch(db)
    schedule.state = "canceled"
    db.flush()
    return schedule_out(db, schedule)


def _refund(db: Session, schedule: Schedule, seconds: float, occurrences: set[int]) -> None:
    total = db.scalar(select(Booking.occurrence).where(Booking.schedule_id == schedule.id)
                      .order_by(Booking.occurrence.desc()).limit(1))
    share = len(occurrences) / (total + 1) if total is not None else 0
    quotas.record(db, schedule.owner_id, schedule.id, "refund: canceled occurrences",
                  time=-seconds, data=-round(schedule.data_bytes * share))


def schedule_out(db: Session, schedule: Schedule) -> ScheduleOut:
    bookings = list(db.scalars(select(Booking).where(Booking.schedule_id == schedule.id)
                               .order_by(Booking.occurrence, Booking.node_name)))
    return ScheduleOut(
        id=schedule.id, owner=schedule.owner.name, scenario=schedule.scenario_name,
        mode=schedule.mode, state=schedule.state, duration=schedule.duration,
        every=schedule.every, shared=schedule.shared, node_seconds=schedule.node_seconds,
        data_bytes=schedule.data_bytes, created_at=schedule.created_at,
        occurrences=_occurrences(bookings))


def _occurrences(bookings: list[Booking]) -> list[OccurrenceOut]:
    by: dict[int, OccurrenceOut] = {}
    for b in bookings:
        occ = by.setdefault(b.occurrence, OccurrenceOut(
            index=b.occurrence, start=b.start, end=b.end, nodes=[], execution=b.execution_id,
            state=b.state))
        occ.nodes.append(b.node_name)
    return [by[i] for i in sorted(by)]


def plan_out(user: User, req: ScheduleCreate, found: Plan) -> ScheduleOut:
    nodes = {}
    for b in found.proposal.bookings:
        nodes.setdefault(b.occurrence, []).append(b.node)
    return ScheduleOut(
        owner=user.name, scenario=req.scenario, mode=req.mode, state="dry-run",
        duration=req.duration, every=req.every, shared=found.spec.shared,
        node_seconds=found.node_seconds, data_bytes=found.data_bytes, dry_run=True,
        occurrences=[OccurrenceOut(index=i, start=s.start, end=s.end, nodes=nodes.get(i, []))
                     for i, s in enumerate(found.spans)])
