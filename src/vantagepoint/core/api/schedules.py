"""Schedules, the calendar and quotas."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from vantagepoint.core import audit
from vantagepoint.core.api.deps import (
    AdminUser,
    CurrentUser,
    SchedulerUser,
    SessionDep,
    SettingsDep,
)
from vantagepoint.core.scheduler import quotas, service
from vantagepoint.core.store.models import Booking, Schedule, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Invalid, NotFound, Problem
from vantagepoint.wire import BookingOut, QuotaOut, QuotaSet, ScheduleCreate, ScheduleOut

router = APIRouter(tags=["schedules"])


@router.post("/schedules", status_code=201, summary="Request a schedule")
def create_schedule(body: ScheduleCreate, request: Request, response: Response,
                    db: SessionDep, settings: SettingsDep, user: SchedulerUser) -> ScheduleOut:
    """Book every occurrence on every node, or refuse whole naming each refusal (409)."""
    out = service.create(db, user, body, settings, request.app.state.policies)
    if body.dry_run:
        response.status_code = 200
    return out


@router.get("/schedules", summary="List schedules")
def list_schedules(db: SessionDep, user: CurrentUser,
                   state: str | None = None) -> list[ScheduleOut]:
    """Your schedules, newest first (admin: everyone's)."""
    query = select(Schedule).order_by(Schedule.id.desc())
    if not user.is_admin:
        query = query.where(Schedule.owner_id == user.id)
    if state is not None:
        query = query.where(Schedule.state == state)
    return [service.schedule_out(db, s) for s in db.scalars(query)]


def _visible(db, user: User, schedule_id: int) -> Schedule:
    schedule = db.get(Schedule, schedule_id)
    if schedule is None or (schedule.owner_id != user.id and not user.is_admin):
        raise NotFound(f"no schedule {schedule_id}")
    return schedule


@router.get("/schedules/{schedule_id}", summary="One schedule")
def get_schedule(schedule_id: int, db: SessionDep, user: CurrentUser) -> ScheduleOut:
    """A schedule with its occurrences and their executions."""
    return service.schedule_out(db, _visible(db, user, schedule_id))


@router.delete("/schedules/{schedule_id}", summary="Cancel a schedule")
def cancel_schedule(schedule_id: int, db: SessionDep, user: SchedulerUser) -> ScheduleOut:
    """Cancel future occurrences (refunded); running ones stop with state canceled."""
    return service.cancel(db, _visible(db, user, schedule_id), user.name)


@router.get("/calendar", summary="The calendar")
def calendar(db: SessionDep, _: CurrentUser, node: str | None = None,
             start: datetime | None = Query(None, description="RFC 3339; default now."),
             end: datetime | None = Query(None, description="RFC 3339; default start + 1 day."),
             limit: int = Query(10000, ge=1, le=100000)) -> list[BookingOut]:
    """Bookings overlapping ``[start, end)``, of one node or the whole fleet."""
    start = start or utcnow()
    end = end or start + timedelta(days=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("give times with a zone", [Problem("query:start", "e.g. ...Z")])
    query = (select(Booking, Schedule).join(Schedule, Schedule.id == Booking.schedule_id)
             .where(Booking.start < end, Booking.end > start,
                    Booking.state.in_(["reserved", "released"]))
             .order_by(Booking.start, Booking.node_name).limit(limit))
    if node is not None:
        query = query.where(Booking.node_name == node)
    return [BookingOut(schedule=b.schedule_id, occurrence=b.occurrence, node=b.node_name,
                       start=b.start, end=b.end, owner=s.owner.name, scenario=s.scenario_name,
                       shared=b.shared, state=b.state, execution=b.execution_id)
            for b, s in db.execute(query)]


@router.get("/quotas/me", summary="Your quota")
def my_quota(db: SessionDep, settings: SettingsDep, user: CurrentUser) -> QuotaOut:
    """Node time and data volume: your limits and what is used."""
    return quotas.quota_out(db, user, settings)


@router.get("/quotas", summary="Every user's quota")
def all_quotas(db: SessionDep, settings: SettingsDep, _: AdminUser) -> list[QuotaOut]:
    """Limits and use of every user (admin only)."""
    return [quotas.quota_out(db, u, settings) for u in db.scalars(select(User).order_by(User.name))]


@router.put("/quotas/{name}", summary="Set a user's quota")
def set_quota(name: str, body: QuotaSet, request: Request, db: SessionDep,
              settings: SettingsDep, admin: AdminUser) -> QuotaOut:
    """Change a user's limits (admin only)."""
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user {name!r}")
    quotas.set_limits(db, user, settings, body.node_seconds_limit, body.data_bytes_limit)
    audit.record(db, request, admin, "quota.set", name,
                 f"node_seconds_limit={body.node_seconds_limit} "
                 f"data_bytes_limit={body.data_bytes_limit}")
    db.flush()
    return quotas.quota_out(db, user, settings)
