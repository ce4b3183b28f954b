"""The storage duty: results partitions kept ahead (PostgreSQL), then retention applied.

It runs as one of the leased duties (core.duties), so in one core process at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core import retention
from vantagepoint.core.store import partitions

log = logging.getLogger(__name__)


class StorageDuty:
    """One run: ``ensure_ahead`` then ``retention.apply``; ``count(how, rows)`` is told."""

    def __init__(self, sessions: sessionmaker, settings: CoreSettings,
                 count: Callable[[str, int], None] = lambda how, rows: None,
                 keep_going: Callable[[], bool] = lambda: True):
        self.sessions, self.count, self.keep_going = sessions, count, keep_going
        self.policy = retention.Policy(dict(settings.retention_days))
        self.batch = settings.retention_batch

    def __call__(self, now: float | None = None) -> retention.Removed:
        now = time.time() if now is None else now
        self.keep_partitions(now)
        removed = retention.apply(self.sessions, self.policy, now, self.batch, self.keep_going)
        if removed.rows:
            log.info("retention removed %d results: %d in %d dropped partitions (%s), "
                     "%d deleted in batches", removed.rows, removed.dropped_rows,
                     len(removed.dropped), ", ".join(removed.dropped) or "none",
                     removed.deleted_rows)
            self.count("dropped", removed.dropped_rows)
            self.count("deleted", removed.deleted_rows)
        return removed

    def keep_partitions(self, now: float) -> list[str]:
        with self.sessions.begin() as db:
            conn = db.connection()
            if not partitions.is_partitioned(conn):
                return []
            made = partitions.ensure_ahead(conn, now)
        if made:
            log.info("created results partitions %s", ", ".join(made))
        return made


def status(db: Session, settings: CoreSettings) -> dict[str, object]:
    """The retention policy and, on PostgreSQL, the partitions (for the API and CLI)."""
    conn = db.connection()
    parted = partitions.is_partitioned(conn)
    weeks = partitions.partitions(conn) if parted else []
    return {"rules": retention.Policy(dict(settings.retention_days)).describe(),
            "default": "kept forever", "partitioned": parted,
            "partitions": [{"name": p.name, "start": p.start, "end": p.end} for p in weeks],
            "duty_seconds": settings.storage_duty_seconds, "batch": settings.retention_batch}
