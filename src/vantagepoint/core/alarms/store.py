"""Alarms in the database: stored once per origin, listed, acknowledged."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.ingest import insert_new
from vantagepoint.core.store.models import Alarm, Execution, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Conflict, NotFound
from vantagepoint.spec.watch import Firing
from vantagepoint.wire import AlarmBatch, AlarmOut

CORE_SPOOL = "core-watch-{}"  # origin of alarms the core raises, by condition position


def store_batch(db: Session, node: str, batch: AlarmBatch) -> int:
    """Store a node's alarms; one seen before (same node, spool, seq) is skipped."""
    now = utcnow()
    rows = [dict(execution_id=a.execution_id, node_name=node, action=a.action,
                 condition=a.condition, result=a.result, value=a.value, ts=a.ts,
                 raised_at=a.raised_at, origin="node", spool_id=batch.spool_id, seq=a.seq,
                 received_at=now) for a in batch.alarms]
    return insert_new(db, Alarm, rows, "uq_alarms_origin")


def store_firing(db: Session, execution_id: int, node: str, action: str, firing: Firing,
                 seq: int, position: int) -> int:
    """Store an alarm the core raised; the result row's id (``seq``) and the condition's
    position in the action keep it idempotent."""
    row = dict(execution_id=execution_id, node_name=node, action=action,
               condition=firing.condition, result=firing.result, value=firing.value,
               ts=firing.ts, raised_at=time.time(), origin="core",
               spool_id=CORE_SPOOL.format(position), seq=seq, received_at=utcnow())
    return insert_new(db, Alarm, [row], "uq_alarms_origin")


def alarm_out(alarm: Alarm) -> AlarmOut:
    return AlarmOut(id=alarm.id, execution=alarm.execution_id, node=alarm.node_name,
                    action=alarm.action, condition=alarm.condition, result=alarm.result,
                    value=alarm.value, ts=alarm.ts, raised_at=alarm.raised_at,
                    origin=alarm.origin, received_at=alarm.received_at,
                    acked_at=alarm.acked_at, acked_by=alarm.acked_by, note=alarm.note)


def visible_alarms(user: User):
    """A query of the alarms the user may see: of own executions (admin: all)."""
    query = select(Alarm).join(Execution, Execution.id == Alarm.execution_id)
    return query if user.is_admin else query.where(Execution.owner_id == user.id)


def find_alarm(db: Session, user: User, alarm_id: int) -> Alarm:
    alarm = db.scalar(visible_alarms(user).where(Alarm.id == alarm_id))
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}")
    return alarm


def acknowledge(db: Session, user: User, alarm_id: int, note: str | None) -> Alarm:
    """Mark an alarm seen; acknowledging twice is a conflict naming who did it first."""
    alarm = find_alarm(db, user, alarm_id)
    if alarm.acked_at is not None:
        raise Conflict(f"alarm {alarm_id} was acknowledged by {alarm.acked_by} at "
                       f"{alarm.acked_at.isoformat()}")
    alarm.acked_at, alarm.acked_by, alarm.note = utcnow(), user.name, note
    return alarm
