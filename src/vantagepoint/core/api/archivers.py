"""Admin view of the archivers: backlog, attempts, deliveries and the last error of each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from vantagepoint.core.api.deps import AdminUser, SessionDep
from vantagepoint.core.archive import statuses

router = APIRouter(prefix="/admin/archivers", tags=["admin"])


@router.get("", summary="Archivers' status")
def archivers(request: Request, db: SessionDep, _: AdminUser) -> list[dict[str, Any]]:
    """Every configured archiver: backlog (outbox rows waiting), oldest row's age,
    delivered, expired (outlived their time-to-live), dropped (out of attempts),
    attempts, failures and the last error."""
    return statuses(db, request.app.state.archivers)
