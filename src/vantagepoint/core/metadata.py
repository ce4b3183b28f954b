"""The node stream at the core: bus messages and background results, stored once each.

Topics are stored in byte order (collation C on PostgreSQL, SQLite's default
elsewhere), so a topic prefix is the range ``[prefix, prefix+1)`` that the
(node, topic, ts) index serves on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vantagepoint.bus.message import COMMON
from vantagepoint.core.ingest import _insert_new, numeric
from vantagepoint.core.store.models import MetadataEntry, Result
from vantagepoint.errors import Invalid, Problem
from vantagepoint.wire import BackgroundRecord, BatchAck, MetadataRecord, StreamBatch


def ingest_stream(db: Session, node: str, batch: StreamBatch) -> BatchAck:
    """Store a batch; records seen before are skipped, so a retried upload never duplicates."""
    _check_messages(batch)
    metadata = [_metadata_row(node, batch.spool_id, r) for r in batch.records
                if isinstance(r, MetadataRecord)]
    background = [_background_row(node, batch.spool_id, r) for r in batch.records
                  if isinstance(r, BackgroundRecord)]
    stored = _insert_new(db, MetadataEntry, metadata, "uq_metadata_origin")
    stored += _insert_new(db, Result, background, "uq_results_origin")
    max_seq = max((r.seq for r in batch.records), default=0)
    return BatchAck(received=len(batch.records), stored=stored, max_seq=max_seq)


def _check_messages(batch: StreamBatch) -> None:
    """Every bus message carries the common fields (else it was not from a bus)."""
    problems = [Problem(f"/records/{i}/message", f"missing field {field}")
                for i, r in enumerate(batch.records) if isinstance(r, MetadataRecord)
                for field in COMMON if field not in r.message]
    if problems:
        raise Invalid("some bus messages lack the common fields", problems)


def _metadata_row(node: str, spool_id: str, r: MetadataRecord) -> dict[str, Any]:
    return dict(node_name=node, topic=r.topic, ts=r.ts, message=r.message, spool_id=spool_id,
                seq=r.seq)


def _background_row(node: str, spool_id: str, r: BackgroundRecord) -> dict[str, Any]:
    return dict(execution_id=None, node_name=node, action=r.action, name=r.name, ts=r.ts,
                value=r.value, value_num=numeric(r.value), spool_id=spool_id, seq=r.seq,
                background=True)


def prefix_end(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix`` (byte order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def metadata_query(node: str | None, topic: str | None, since: float | None,
                   until: float | None, cursor: int, limit: int) -> Select:
    """Messages by node, topic prefix and half-open time range, in arrival order."""
    query = (select(MetadataEntry).where(MetadataEntry.id > cursor)
             .order_by(MetadataEntry.id).limit(limit))
    if node is not None:
        query = query.where(MetadataEntry.node_name == node)
    if topic:
        query = query.where(MetadataEntry.topic >= topic,
                            MetadataEntry.topic < prefix_end(topic))
    if since is not None:
        query = query.where(MetadataEntry.ts >= since)
    if until is not None:
        query = query.where(MetadataEntry.ts < until)
    return query
