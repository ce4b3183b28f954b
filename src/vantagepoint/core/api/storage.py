"""Admin view of results storage: the retention policy and the partitions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vantagepoint.core.api.deps import AdminUser, SessionDep, SettingsDep
from vantagepoint.core.storage import status

router = APIRouter(prefix="/admin/storage", tags=["admin"])


@router.get("", summary="Retention policy and partitions")
def storage(db: SessionDep, settings: SettingsDep, _: AdminUser) -> dict[str, Any]:
    """The retention rules (pattern -> days kept; results no rule names are kept
    forever) and, on PostgreSQL, the weekly partitions of the results table."""
    return status(db, settings)
