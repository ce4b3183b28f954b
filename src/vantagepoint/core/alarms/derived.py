"""Conditions on results the core derives (e.g. joined one-way delay), watched on ingest.

Agents watch what their tools emit; results a processor stores at the core
(origin ``proc-*``) never pass an agent, so the core watches them: a cursor
row (shared by every core process, taken under a row lock) says how far the
results table was read, and each new derived row is fed to the conditions of
its action. Window state lives in this process; a replica that takes over
starts its windows empty.

Limitation: on PostgreSQL a row may commit after one with a larger id; if
that happens between two reads, the later-committed row is not watched.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.alarms.store import store_firing
from vantagepoint.core.store.models import Execution, Result, WatchCursor
from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.watch import Watch

CURSOR = "derived-results"
DERIVED = "proc-%"
BATCH = 5000
_MAX_WATCHES = 20000


class DerivedWatch:
    """Window state per (execution, node, action, condition) for derived results."""

    def __init__(self) -> None:
        self.watches: dict[tuple[int, str, str, str], Watch] = {}
        self._conditions: dict[tuple[int, str, str], list[str]] = {}

    def tick(self, sessions: sessionmaker) -> int:
        """Watch every derived result stored since the last tick; return alarms raised."""
        with sessions.begin() as db:
            cursor = _cursor(db)
            rows = db.execute(
                select(Result.id, Result.execution_id, Result.node_name, Result.action,
                       Result.name, Result.ts, Result.value_num)
                .where(Result.id > cursor.last_id, Result.spool_id.like(DERIVED))
                .order_by(Result.id).limit(BATCH)).all()
            top = rows[-1].id if len(rows) == BATCH else db.scalar(select(func.max(Result.id)))
            cursor.last_id = max(cursor.last_id, top or 0)
            return sum(self._feed(db, row) for row in rows)

    def _feed(self, db: Session, row) -> int:
        if row.value_num is None:
            return 0
        raised = 0
        conditions = self._conditions_of(db, row.execution_id, row.node_name, row.action)
        for position, text in enumerate(conditions):
            condition = parse_condition(text)
            if condition.result != row.name:
                continue
            watch = self._watch((row.execution_id, row.node_name, row.action, str(condition)),
                                text)
            firing = watch.observe(row.ts, row.value_num)
            if firing is not None:
                raised += store_firing(db, row.execution_id, row.node_name, row.action,
                                       firing, row.id, position)
        return raised

    def _watch(self, key: tuple[int, str, str, str], text: str) -> Watch:
        if key not in self.watches:
            if len(self.watches) >= _MAX_WATCHES:
                self.watches.clear()  # a bound on memory; old executions' windows go first
            self.watches[key] = Watch(parse_condition(text))
        return self.watches[key]

    def _conditions_of(self, db: Session, execution_id: int, node: str,
                       action: str) -> list[str]:
        key = (execution_id, node, action)
        if key not in self._conditions:
            if len(self._conditions) >= _MAX_WATCHES:
                self._conditions.clear()
            snapshot = db.scalar(select(Execution.snapshot).where(Execution.id == execution_id))
            self._conditions[key] = [
                c for t in (snapshot or {}).get("tasks", []) for a in t.get("actions", [])
                if a["name"] == action and a.get("node") == node
                for c in a.get("conditions", [])]
        return self._conditions[key]


def _cursor(db: Session) -> WatchCursor:
    cursor = db.scalar(select(WatchCursor).where(WatchCursor.name == CURSOR).with_for_update())
    if cursor is None:  # first start: watch from now on, not over the stored history
        cursor = WatchCursor(name=CURSOR, last_id=db.scalar(select(func.max(Result.id))) or 0)
        db.add(cursor)
        db.flush()
    return cursor
