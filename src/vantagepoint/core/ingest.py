"""Idempotent ingest of spooled records: (node, spool_id, seq) is stored once, ever."""

from __future__ import annotations

import math
import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vantagepoint.core import transforms
from vantagepoint.core.store import fastinsert
from vantagepoint.core.store.db import database_key
from vantagepoint.core.store.models import ExecutionNode, LogEntry, Result
from vantagepoint.errors import Forbidden
from vantagepoint.wire import BatchAck, LogRecord, RecordBatch, ResultRecord

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

# (database, node) -> executions the node is known to take part in. A node's part in an
# execution is never taken away (rows of execution_nodes are not deleted), so what was
# found once stays true: an upload asks the database only about executions new to it.
_MEMBERSHIP: dict[tuple[str, str], frozenset[int]] = {}
_MEMBERSHIP_MAX = 100_000  # (database, node) pairs; past this, start over
_MEMBERSHIP_LOCK = threading.Lock()


def ingest(db: Session, node: str, batch: RecordBatch) -> BatchAck:
    """Store a batch; records seen before are skipped, so a retried upload never duplicates."""
    return ingest_counted(db, node, batch)[0]


def ingest_counted(db: Session, node: str,
                   batch: RecordBatch) -> tuple[BatchAck, dict[str, tuple[int, int]]]:
    """``ingest``, also saying ``kind -> (received, stored)`` for the metrics."""
    _check_executions(db, node, {r.execution_id for r in batch.records})
    processing = transforms.chains(db, {r.execution_id for r in batch.records
                                        if isinstance(r, ResultRecord)})
    results = [_result_row(node, batch.spool_id, r, processing) for r in batch.records
               if isinstance(r, ResultRecord)]
    logs = [_log_row(node, batch.spool_id, r) for r in batch.records if isinstance(r, LogRecord)]
    counts = {"result": (len(results), fastinsert.insert_results(db, results)),
              "log": (len(logs), _insert_new(db, LogEntry, logs, "uq_logs_origin"))}
    max_seq = max((r.seq for r in batch.records), default=0)
    stored = sum(new for _, new in counts.values())
    return BatchAck(received=len(batch.records), stored=stored, max_seq=max_seq), counts


def _check_executions(db: Session, node: str, ids: set[int]) -> None:
    """A node may only write into executions it takes part in."""
    key = (database_key(db.get_bind()), node)
    unknown = ids - _MEMBERSHIP.get(key, frozenset())
    if not unknown:
        return
    known = set(db.scalars(select(ExecutionNode.execution_id).where(
        ExecutionNode.node_name == node, ExecutionNode.execution_id.in_(unknown))))
    missing = unknown - known
    if missing:
        raise Forbidden(f"node {node!r} takes no part in execution(s) "
                        f"{', '.join(map(str, sorted(missing)))}")
    with _MEMBERSHIP_LOCK:
        if len(_MEMBERSHIP) >= _MEMBERSHIP_MAX:
            _MEMBERSHIP.clear()
        _MEMBERSHIP[key] = _MEMBERSHIP.get(key, frozenset()) | known


def numeric(value: Any) -> float | None:
    """The value as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _result_row(node: str, spool_id: str, r: ResultRecord,
                processing: dict[tuple[int, str], transforms.Chain]) -> fastinsert.Row:
    name, value = r.name, r.value
    chain = processing.get((r.execution_id, r.action))
    if chain:
        name, value = transforms.apply(chain, name, value)
    return (r.execution_id, node, r.action, name, r.ts, fastinsert.encode(value),
            numeric(value), spool_id, r.seq)


def _log_row(node: str, spool_id: str, r: LogRecord) -> dict[str, Any]:
    return dict(execution_id=r.execution_id, node_name=node, action=r.action, ts=r.ts,
                level=r.level, message=r.message, spool_id=spool_id, seq=r.seq)


def _insert_new(db: Session, model, rows: list[dict[str, Any]], constraint: str) -> int:
    """Insert rows whose origin is new; return how many were new."""
    if not rows:
        return 0
    dialect = db.get_bind().dialect.name
    insert = _INSERTS[dialect](model)
    if dialect == "postgresql":
        stmt = insert.on_conflict_do_nothing(constraint=constraint)
    else:
        stmt = insert.on_conflict_do_nothing(index_elements=["node_name", "spool_id", "seq"])
    seen = _count_seen(db, model, rows)
    db.execute(stmt, rows)
    return len(rows) - seen


def _count_seen(db: Session, model, rows: list[dict[str, Any]]) -> int:
    seqs = [r["seq"] for r in rows]
    query = select(func.count()).select_from(model).where(
        model.node_name == rows[0]["node_name"], model.spool_id == rows[0]["spool_id"],
        model.seq.between(min(seqs), max(seqs)))
    if model is Result and db.get_bind().dialect.name == "postgresql":
        # Partitioned by ts, keyed with ts: look only in the weeks the rows would be in.
        stamps = [r["ts"] for r in rows]
        query = query.where(Result.ts.between(min(stamps), max(stamps)))
    return db.scalar(query) or 0


def insert_results(db: Session, execution_id: int, origin: str, derived) -> int:
    """Store results the core itself derived; ``origin`` plus position keeps it idempotent."""
    rows = [dict(execution_id=execution_id, node_name=d.node, action=d.action, name=d.name,
                 ts=d.ts, value=d.value, value_num=numeric(d.value), spool_id=origin, seq=i)
            for i, d in enumerate(derived, start=1)]
    stored = 0
    for node in sorted({r["node_name"] for r in rows}):
        stored += _insert_new(db, Result, [r for r in rows if r["node_name"] == node],
                              "uq_results_origin")
    return stored


# The alarm store (core/alarms) stores node alarms the same way: idempotent by origin,
# only into executions the node takes part in.
insert_new = _insert_new
check_executions = _check_executions
