"""Core-side lines in an execution's log."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from vantagepoint.core.store.models import LogEntry


def core_log(db: Session, execution_id: int, message: str, level: str = "info",
             node: str | None = None) -> None:
    """Append a line the core itself writes (no spool origin)."""
    db.add(LogEntry(execution_id=execution_id, node_name=node, action=None,
                    ts=time.time(), level=level, message=message))
