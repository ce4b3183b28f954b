"""The audit log: admin actions, written in the transaction of the action itself.

A failed action rolls back with its audit row, so the log holds only what happened;
an attempt refused for want of admin rights is kept, in a transaction of its own,
with the outcome "refused: <reason>".
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.store.models import AuditEntry, User


def record(db: Session, request: Request, actor: User, action: str, target: str,
           outcome: str = "ok") -> AuditEntry:
    """Add one audit row to the request's transaction."""
    token = getattr(request.state, "token", None)
    entry = AuditEntry(actor=actor.name, token_id=token.id if token is not None else None,
                       action=action, target=target[:256], outcome=outcome[:256],
                       address=request.client.host if request.client else None)
    db.add(entry)
    return entry


def record_refusal(sessions: sessionmaker, request: Request, reason: str) -> None:
    """Keep an admin attempt that was refused, after its request's transaction is gone."""
    actor, token_id = getattr(request.state, "caller", ("unknown", None))
    with sessions.begin() as db:
        db.add(AuditEntry(actor=actor[:64], token_id=token_id,
                          action="refused", target=f"{request.method} {request.url.path}"[:256],
                          outcome=f"refused: {reason}"[:256],
                          address=request.client.host if request.client else None))


def query(*, actor: str | None = None, action: str | None = None, target: str | None = None,
          since: datetime | None = None, until: datetime | None = None,
          before_id: int | None = None) -> Select:
    """Audit rows matching the filters, newest first (page with ``before_id``)."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    for column, value in ((AuditEntry.actor, actor), (AuditEntry.action, action),
                          (AuditEntry.target, target)):
        if value is not None:
            q = q.where(column == value)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    if before_id is not None:
        q = q.where(AuditEntry.id < before_id)
    return q
