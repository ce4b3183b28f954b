"""Alarms: agents send them ahead of their results; users list and acknowledge them."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Query, Request

from vantagepoint.core.alarms.store import (
    acknowledge,
    alarm_out,
    find_alarm,
    store_batch,
    visible_alarms,
)
from vantagepoint.core.api.deps import CurrentNode, CurrentUser, SchedulerUser, SessionDep
from vantagepoint.core.ingest import check_executions
from vantagepoint.core.store.models import Alarm
from vantagepoint.wire import AlarmAck, AlarmBatch, AlarmOut

router = APIRouter(prefix="/alarms", tags=["alarms"])
agent_router = APIRouter(prefix="/agent", tags=["agent"])


@agent_router.post("/alarms", summary="Send alarms raised on this node")
def receive_alarms(body: AlarmBatch, request: Request, background: BackgroundTasks,
                   db: SessionDep, node_name: CurrentNode) -> dict[str, int]:
    """Idempotent: an alarm already stored (same node, spool and seq) is skipped."""
    check_executions(db, node_name, {a.execution_id for a in body.alarms})
    stored = store_batch(db, node_name, body)
    duty = getattr(request.app.state, "alarm_duty", None)
    if duty is not None and stored:
        background.add_task(duty.wake)  # runs once the rows are committed
    return {"received": len(body.alarms), "stored": stored}


@router.get("", summary="List alarms")
def list_alarms(db: SessionDep, user: CurrentUser, execution: int | None = None,
                node: str | None = None,
                acked: bool | None = Query(None, description="Only (un)acknowledged ones."),
                after: int = Query(0, ge=0, description="Only alarms with a larger id."),
                limit: int = Query(100, ge=1, le=10000)) -> list[AlarmOut]:
    """Alarms of your executions (admin: all), newest first."""
    query = visible_alarms(user).where(Alarm.id > after).order_by(Alarm.id.desc()).limit(limit)
    if execution is not None:
        query = query.where(Alarm.execution_id == execution)
    if node is not None:
        query = query.where(Alarm.node_name == node)
    if acked is not None:
        query = query.where(Alarm.acked_at.is_not(None) if acked else Alarm.acked_at.is_(None))
    return [alarm_out(a) for a in db.scalars(query)]


@router.get("/{alarm_id}", summary="One alarm")
def get_alarm(alarm_id: int, db: SessionDep, user: CurrentUser) -> AlarmOut:
    """An alarm of one of your executions."""
    return alarm_out(find_alarm(db, user, alarm_id))


@router.post("/{alarm_id}/ack", summary="Acknowledge an alarm")
def ack_alarm(alarm_id: int, db: SessionDep, user: SchedulerUser,
              body: AlarmAck | None = None) -> AlarmOut:
    """Mark it seen, with an optional note; 409 if it was acknowledged already."""
    return alarm_out(acknowledge(db, user, alarm_id, body.note if body else None))
