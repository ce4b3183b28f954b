"""The audit log of admin actions (admin only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from vantagepoint.core import audit
from vantagepoint.core.api.deps import AdminUser, SessionDep
from vantagepoint.core.store.models import AuditEntry
from vantagepoint.wire import AuditOut

router = APIRouter(tags=["audit"])


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(id=entry.id, at=entry.at, actor=entry.actor, token_id=entry.token_id,
                    action=entry.action, target=entry.target, address=entry.address,
                    outcome=entry.outcome)


@router.get("/audit", summary="The audit log")
def list_audit(db: SessionDep, _: AdminUser, actor: str | None = None,
               action: str | None = None, target: str | None = None,
               since: datetime | None = Query(None, description="From this time (RFC 3339)."),
               until: datetime | None = Query(None, description="Before this time."),
               before_id: int | None = Query(None, ge=1, description="Next page: rows older "
                                                                      "than this id."),
               limit: int = Query(100, ge=1, le=1000)) -> list[AuditOut]:
    """Admin actions, newest first: who, what, on what, when, from where, with what outcome."""
    q = audit.query(actor=actor, action=action, target=target, since=since, until=until,
                    before_id=before_id).limit(limit)
    return [audit_out(e) for e in db.scalars(q)]
