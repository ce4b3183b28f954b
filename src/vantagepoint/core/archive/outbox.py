"""The transactional outbox: rows written with the results, drained by the duties holder.

``enqueue`` runs inside the ingest transaction, so a result is stored with its outbox
rows or not at all; nothing acknowledged to an agent can be lost by a crash before it
was pushed. ``drain`` sends a batch, then deletes what was delivered: a crash between
the two sends that batch again, so delivery is at least once, every message carrying
its idempotency key ``node/spool_id/seq`` (the same for every archiver and attempt).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.archivers.base import Message
from vantagepoint.core.archive.config import Archiver
from vantagepoint.core.store.models import ArchiveOutbox, ArchiverStatus
from vantagepoint.wire import RecordBatch, ResultRecord

log = logging.getLogger(__name__)
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def enqueue(db: Session, archivers: list[Archiver], node: str, batch: RecordBatch) -> int:
    """Add an outbox row per (archiver, result) the archiver's filter takes."""
    if not archivers:
        return 0
    now = time.time()
    rows = [_row(a, record, now) for record in _records(node, batch) for a in archivers
            if a.config.filter.takes(record)]
    if rows:
        insert = _INSERTS[db.get_bind().dialect.name](ArchiveOutbox)
        db.execute(insert.on_conflict_do_nothing(index_elements=["archiver", "key"]), rows)
    return len(rows)


def _records(node: str, batch: RecordBatch) -> list[dict[str, Any]]:
    return [dict(key=f"{node}/{batch.spool_id}/{r.seq}", execution_id=r.execution_id,
                 node=node, action=r.action, name=r.name, ts=r.ts, value=r.value)
            for r in batch.records if isinstance(r, ResultRecord)]


def _row(archiver: Archiver, record: dict[str, Any], now: float) -> dict[str, Any]:
    return dict(archiver=archiver.name, key=record["key"], topic=archiver.topic(record),
                payload=archiver.payload(record), created_at=now, next_at=now, attempts=0)


def drain(sessions: sessionmaker, archiver: Archiver, batch: int) -> int:
    """Expire old rows, then send one batch of due rows; the number delivered."""
    with sessions.begin() as db:
        _expire(db, archiver, time.time())
        rows = db.scalars(select(ArchiveOutbox).where(
            ArchiveOutbox.archiver == archiver.name, ArchiveOutbox.next_at <= time.time())
            .order_by(ArchiveOutbox.id).limit(batch)).all()
    if not rows:
        archiver.sink.idle()
        return 0
    try:
        archiver.sink.send([Message(r.key, r.topic, r.payload) for r in rows])
    except Exception as exc:  # noqa: BLE001 - any failure is retried and shown in the status
        archiver.sink.close()
        _failed(sessions, archiver, rows, exc)
        return 0
    _delivered(sessions, archiver, rows)
    return len(rows)


def _expire(db: Session, archiver: Archiver, now: float) -> None:
    gone = db.execute(delete(ArchiveOutbox).where(
        ArchiveOutbox.archiver == archiver.name,
        ArchiveOutbox.created_at < now - archiver.config.ttl_seconds)).rowcount
    if gone:
        _status(db, archiver.name).expired += gone
        log.warning("archiver %s: %d result(s) outlived their time-to-live of %g s, dropped",
                    archiver.name, gone, archiver.config.ttl_seconds)


def _delivered(sessions: sessionmaker, archiver: Archiver, rows: list[ArchiveOutbox]) -> None:
    with sessions.begin() as db:
        db.execute(delete(ArchiveOutbox).where(ArchiveOutbox.id.in_([r.id for r in rows])))
        status = _status(db, archiver.name)
        status.delivered += len(rows)
        status.attempts += 1
        status.last_delivered_at = time.time()


def _failed(sessions: sessionmaker, archiver: Archiver, rows: list[ArchiveOutbox],
            exc: Exception) -> None:
    attempts = max(r.attempts for r in rows) + 1
    retry, now = archiver.config.retry, time.time()
    message = f"{exc.__class__.__name__}: {exc}"[:1000]
    log.warning("archiver %s: %d result(s) not delivered (attempt %d): %s",
                archiver.name, len(rows), attempts, message)
    ids = [r.id for r in rows]
    with sessions.begin() as db:
        status = _status(db, archiver.name)
        status.attempts, status.failures = status.attempts + 1, status.failures + 1
        status.last_error, status.last_error_at = message, now
        if retry.max_attempts is not None and attempts >= retry.max_attempts:
            status.dropped += db.execute(delete(ArchiveOutbox).where(
                ArchiveOutbox.id.in_(ids))).rowcount
            return
        db.execute(update(ArchiveOutbox).where(ArchiveOutbox.id.in_(ids)).values(
            attempts=attempts, next_at=now + retry.delay(attempts)))


def _status(db: Session, name: str) -> ArchiverStatus:
    status = db.get(ArchiverStatus, name)
    if status is None:
        status = ArchiverStatus(name=name, delivered=0, expired=0, dropped=0, attempts=0,
                                failures=0)
        db.add(status)
    return status


def statuses(db: Session, archivers: list[Archiver]) -> list[dict[str, Any]]:
    """Backlog and totals of every configured archiver."""
    waiting = {name: (count, first) for name, count, first in db.execute(
        select(ArchiveOutbox.archiver, func.count(), func.min(ArchiveOutbox.created_at))
        .group_by(ArchiveOutbox.archiver))}
    out = []
    for a in archivers:
        s = db.get(ArchiverStatus, a.name)
        totals = {k: getattr(s, k) if s else 0 for k in
                  ("delivered", "expired", "dropped", "attempts", "failures")}
        count, first = waiting.get(a.name, (0, None))
        out.append({"name": a.name, "kind": a.config.kind, "backlog": count,
                    "oldest_age_seconds": None if first is None
                    else round(time.time() - first, 1),
                    **totals, "last_error": s.last_error if s else None,
                    "last_error_at": s.last_error_at if s else None,
                    "last_delivered_at": s.last_delivered_at if s else None})
    return out
