"""Per-user quotas as a ledger: debits at booking, refunds on cancel, corrections after runs."""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from vantagepoint.config import CoreSettings
from vantagepoint.core.store.models import Quota, QuotaEntry, QuotaUsage, User
from vantagepoint.core.store.prepared import Prepared
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Problem, Unschedulable
from vantagepoint.wire import QuotaOut

TIME, DATA = "time", "data"


# Limits and use of one user in one query by key, built once: it runs for every request.
_STANDING = Prepared(
    select(select(Quota.node_seconds_limit).where(Quota.user_id == bindparam("user"))
           .scalar_subquery(),
           select(Quota.data_bytes_limit).where(Quota.user_id == bindparam("user"))
           .scalar_subquery(),
           func.coalesce(select(QuotaUsage.node_seconds)
                         .where(QuotaUsage.user_id == bindparam("user")).scalar_subquery(), 0),
           func.coalesce(select(QuotaUsage.data_bytes)
                         .where(QuotaUsage.user_id == bindparam("user")).scalar_subquery(), 0)))


def standing(db: Session, user: User, settings: CoreSettings) -> tuple[float, int, float, float]:
    """(time limit, data limit, time used, data used); the defaults where no limits are set."""
    row = _STANDING.first(db, {"user": user.id})
    time_limit, data_limit = (
        (row[0], row[1]) if row[0] is not None or row[1] is not None
        else (settings.default_node_seconds_quota, settings.default_data_bytes_quota))
    return time_limit, data_limit, float(row[2]), float(row[3])


def quota_out(db: Session, user: User, settings: CoreSettings) -> QuotaOut:
    time_limit, data_limit, time_used, data_used = standing(db, user, settings)
    return QuotaOut(user=user.name, node_seconds_limit=time_limit, node_seconds_used=time_used,
                    data_bytes_limit=data_limit, data_bytes_used=int(data_used))


def check(db: Session, user: User, settings: CoreSettings, need_time: float,
          need_data: int) -> None:
    """Refuse, naming the quota, the need and what is left, if either would be exceeded."""
    time_limit, data_limit, time_used, data_used = standing(db, user, settings)
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


def record(db: Session, user_id: int, schedule_id: int | None, reason: str, *,
           time: float = 0.0, data: float = 0) -> None:
    """Add ledger lines (positive debits, negative refunds) and move the running totals."""
    lines = [dict(user_id=user_id, schedule_id=schedule_id, kind=kind, amount=amount,
                  reason=reason[:256], created_at=utcnow())
             for kind, amount in ((TIME, time), (DATA, data)) if amount]
    if not lines:
        return
    # Plain inserts: no unit of work to flush for lines nobody reads back here.
    _LEDGER_LINE.run_many(db, lines)
    _ADD_USAGE[db.get_bind().dialect.name].run(
        db, {"user_id": user_id, "node_seconds": time, "data_bytes": data})


def _add_usage(dialect) -> Insert:
    """INSERT a user's totals, or add to them: the same statement on both databases."""
    usage = QuotaUsage.__table__
    upsert = dialect.insert(usage)
    return upsert.on_conflict_do_update(index_elements=["user_id"], set_={
        "node_seconds": usage.c.node_seconds + upsert.excluded.node_seconds,
        "data_bytes": usage.c.data_bytes + upsert.excluded.data_bytes})


_LEDGER_LINE = Prepared(insert(QuotaEntry.__table__).values(
    {c: bindparam(c) for c in ("user_id", "schedule_id", "kind", "amount", "reason",
                               "created_at")}))
_ADD_USAGE = {"sqlite": Prepared(_add_usage(sqlite)),
              "postgresql": Prepared(_add_usage(postgresql))}


def set_limits(db: Session, user: User, settings: CoreSettings, node_seconds: float | None,
               data_bytes: int | None) -> None:
    row = db.get(Quota, user.id)
    if row is None:
        row = Quota(user_id=user.id, node_seconds_limit=settings.default_node_seconds_quota,
                    data_bytes_limit=settings.default_data_bytes_quota)
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
    record(db, ex.owner_id, booking.schedule_id,
           f"correction from traffic reported by {node} for execution {ex.id}",
           data=traffic_bytes - declared)
