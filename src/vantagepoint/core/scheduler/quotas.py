"""Per-user quotas as a ledger: debits at booking, refunds on cancel, corrections after runs."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vantagepoint.config import CoreSettings
from vantagepoint.core.store.models import Quota, QuotaEntry, User
from vantagepoint.errors import Problem, Unschedulable
from vantagepoint.wire import QuotaOut

TIME, DATA = "time", "data"


def limits(db: Session, user: User, settings: CoreSettings) -> tuple[float, int]:
    row = db.get(Quota, user.id)
    if row is None:
        return settings.default_node_seconds_quota, settings.default_data_bytes_quota
    return row.node_seconds_limit, row.data_bytes_limit


def used(db: Session, user: User) -> tuple[float, float]:
    rows = dict(db.execute(select(QuotaEntry.kind, func.sum(QuotaEntry.amount))
                           .where(QuotaEntry.user_id == user.id)
                           .group_by(QuotaEntry.kind)).all())
    return float(rows.get(TIME) or 0.0), float(rows.get(DATA) or 0.0)


def quota_out(db: Session, user: User, settings: CoreSettings) -> QuotaOut:
    time_limit, data_limit = limits(db, user, settings)
    time_used, data_used = used(db, user)
    return QuotaOut(user=user.name, node_seconds_limit=time_limit, node_seconds_used=time_used,
                    data_bytes_limit=data_limit, data_bytes_used=int(data_used))


def check(db: Session, user: User, settings: CoreSettings, need_time: float,
          need_data: int) -> None:
    """Refuse, naming the quota, the need and what is left, if either would be exceeded."""
    time_limit, data_limit = limits(db, user, settings)
    time_used, data_used = used(db, user)
    problems = []
    if need_time > time_limit - time_used:
        problems.append(Problem("/duration", f"node time quota: this needs {need_time:g} "
                                             f"node-seconds, {max(0, time_limit - time_used):g} "
                                             f"of {time_limit:g} are left"))
    if need_data > data_limit - data_used:
        problems.append(Problem("/scenario", f"data quota: this needs {need_data} bytes, "
                                             f"{max(0, int(data_limit - data_used))} of "
                                             f"{data_limit} are left"))
    if problems:
        raise Unschedulable(f"the request exceeds {user.name}'s quota", problems)


def record(db: Session, user_id: int, schedule_id: int | None, kind: str, amount: float,
           reason: str) -> None:
    """Add a ledger line: positive debits, negative refunds."""
    if amount:
        db.add(QuotaEntry(user_id=user_id, schedule_id=schedule_id, kind=kind, amount=amount,
                          reason=reason[:256]))


def set_limits(db: Session, user: User, settings: CoreSettings, node_seconds: float | None,
               data_bytes: int | None) -> None:
    row = db.get(Quota, user.id)
    if row is None:
        time_limit, data_limit = limits(db, user, settings)
        row = Quota(user_id=user.id, node_seconds_limit=time_limit, data_bytes_limit=data_limit)
        db.add(row)
    if node_seconds is not None:
        row.node_seconds_limit = node_seconds
    if data_bytes is not None:
        row.data_bytes_limit = data_bytes


def correct_data(db: Session, ex, node: str, traffic_bytes: int) -> None:
    """Replace a node part's declared data debit by the traffic its agent measured."""
    from vantagepoint.core.store.models import Booking

    booking = db.scalar(select(Booking).where(Booking.execution_id == ex.id,
                                              Booking.node_name == node))
    if booking is None:
        return
    declared = int(ex.snapshot.get("traffic_bytes", 0)) * len(booking.interfaces)
    record(db, ex.owner_id, booking.schedule_id, DATA, traffic_bytes - declared,
           f"correction from traffic reported by {node} for execution {ex.id}")
