"""The agent's durable local spool: every result and log line goes here first.

A SQLite file in WAL mode shared by the agent and its worker processes (each
opens its own connection). A committed row survives a SIGKILL of any of them;
rows are uploaded in ``seq`` order and marked, never deleted before upload.
``seq`` is AUTOINCREMENT, so a number is never handed out twice, and
(node, spool_id, seq) identifies a record at the core for ever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vantagepoint.agent.diskspace import SpaceGuard, disk_full_error
from vantagepoint.wire import LogRecord, ResultRecord

log = logging.getLogger(__name__)

LEVELS = ("debug", "info", "warning", "error")
MAX_MESSAGE = 16000
REFUSED = -1  # "uploaded" value of a record the core refused for good; kept, not resent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('result', 'log')),
    execution_id INTEGER NOT NULL,
    action TEXT,
    name TEXT,
    ts REAL NOT NULL,
    value TEXT,
    level TEXT,
    message TEXT,
    uploaded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_pending ON records (uploaded, seq);
CREATE INDEX IF NOT EXISTS records_execution ON records (execution_id, uploaded);
"""

Record = ResultRecord | LogRecord


class Spool:
    """One connection to the spool file; thread-safe within a process."""

    def __init__(self, path: str | Path, busy_timeout: float = 30.0, min_free_bytes: int = 0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.space = SpaceGuard(self.path.parent, min_free_bytes)
        self.refused_full = 0  # results refused for want of disk space
        self._full_said: set[tuple[int, str]] = set()  # (execution, action) told of it
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL keeps every commit across a process crash (not a power cut).
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('spool_id', ?)",
                       (str(uuid.uuid4()),))
        self.spool_id: str = self._db.execute(
            "SELECT value FROM meta WHERE key = 'spool_id'").fetchone()[0]

    def close(self) -> None:
        """Close this connection."""
        with self._lock:
            self._db.close()

    # ---- writing ----------------------------------------------------------

    def add_result(self, execution_id: int, action: str, name: str, value: Any,
                   ts: float | None = None) -> int | None:
        """Spool one result; return its seq, or None when it was refused (a warning is spooled)."""
        ts = _when(ts)
        text, problem = _result_json(execution_id, action, name, value, ts)
        if problem:
            log.warning("result refused: %s", problem)
            self.add_log(execution_id, action, "warning", f"result refused: {problem}", ts)
            return None
        if full := self.space.problem():
            return self._refuse_full(execution_id, action, full)
        try:
            seq = self._insert("result", execution_id, action, name, ts, value=text)
        except sqlite3.OperationalError as exc:
            if not disk_full_error(exc):
                raise
            self.space.full_now()  # the transaction rolled back: nothing half-written
            return self._refuse_full(execution_id, action, str(self.space.problem()))
        self._space_back(execution_id, action)
        return seq

    def _refuse_full(self, execution_id: int, action: str, problem: str) -> None:
        """Drop one result for want of space; say so once per action (into the reserve)."""
        self.refused_full += 1
        key = (int(execution_id), action)
        if key not in self._full_said:
            self._full_said.add(key)
            log.error("%s", problem)
            with contextlib.suppress(sqlite3.OperationalError):  # truly no byte left
                self.add_log(execution_id, action, "error", problem)
        return None

    def _space_back(self, execution_id: int, action: str) -> None:
        key = (int(execution_id), action)
        if key in self._full_said:
            self._full_said.discard(key)
            self.add_log(execution_id, action, "warning",
                         f"disk space is back: results are accepted again "
                         f"({self.refused_full} refused so far)")

    def add_log(self, execution_id: int, action: str | None, level: str, message: str,
                ts: float | None = None) -> int:
        """Spool one log line (unknown levels become info; long messages are cut)."""
        ts = _when(ts)
        level = level if level in LEVELS else "info"
        message = str(message)
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 20] + " ... (truncated)"
        return self._insert("log", execution_id, action, None, ts, level=level, message=message)

    def _insert(self, kind: str, execution_id: int, action: str | None, name: str | None,
                ts: float, value: str | None = None, level: str | None = None,
                message: str | None = None) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO records (kind, execution_id, action, name, ts, value, level, "
                "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, int(execution_id), action, name, ts, value, level, message))
            return int(cur.lastrowid)

    # ---- reading and marking ---------------------------------------------

    def pending(self, limit: int = 500) -> list[Record]:
        """Records not uploaded yet, oldest first, as wire records."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, execution_id, action, name, ts, value, level, message "
                "FROM records WHERE uploaded = 0 ORDER BY seq LIMIT ?", (int(limit),)).fetchall()
        return [_to_wire(row) for row in rows]

    def pending_count(self, execution_id: int | None = None) -> int:
        """How many records (of one execution, or all) wait for upload."""
        sql, args = "SELECT count(*) FROM records WHERE uploaded = 0", ()
        if execution_id is not None:
            sql, args = sql + " AND execution_id = ?", (int(execution_id),)
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def mark_uploaded(self, seqs: Iterable[int] | None = None, *, upto: int | None = None) -> None:
        """Mark the given seqs (or every seq up to ``upto``) as uploaded."""
        self._mark(1, seqs, upto)

    def mark_refused(self, seqs: Iterable[int]) -> None:
        """Set aside records the core refused for good: kept in the file, never resent."""
        self._mark(REFUSED, seqs, None)

    def _mark(self, state: int, seqs: Iterable[int] | None, upto: int | None) -> None:
        with self._write() as db:
            if upto is not None:
                db.execute("UPDATE records SET uploaded = ? WHERE seq <= ? AND uploaded = 0",
                           (state, int(upto)))
            if seqs is not None:
                db.executemany("UPDATE records SET uploaded = ? WHERE seq = ?",
                               [(state, int(s)) for s in seqs])

    def purge_uploaded(self, older_than: float) -> int:
        """Delete uploaded records whose timestamp is before ``older_than``; return how many."""
        with self._write() as db:
            return db.execute("DELETE FROM records WHERE uploaded = 1 AND ts < ?",
                              (float(older_than),)).rowcount

    def records(self, execution_id: int | None = None) -> list[Record]:
        """Every record still in the file (uploaded or not), oldest first."""
        sql = "SELECT seq, kind, execution_id, action, name, ts, value, level, message FROM records"
        args: tuple = ()
        if execution_id is not None:
            sql, args = sql + " WHERE execution_id = ?", (int(execution_id),)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [_to_wire(row) for row in rows]

    def _write(self) -> _Transaction:
        return _Transaction(self._db, self._lock)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the connection's lock (rollback on error)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock):
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()


def _result_json(execution_id: int, action: str, name: str, value: Any,
                 ts: float) -> tuple[str, str | None]:
    """The value as JSON text, or why the result cannot be spooled (the core would refuse it)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "", f"{name!r}: {value} is not a finite number"
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return "", f"{name!r}: the value is not JSON ({exc})"
    try:
        ResultRecord(seq=1, execution_id=execution_id, action=action, name=name, ts=ts,
                     value=None)
    except ValidationError as exc:
        return "", f"{name!r}: " + "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
    return text, None


def _when(ts: float | None) -> float:
    """A usable timestamp: now when missing or not a finite number."""
    try:
        value = float(ts)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return time.time()
    return value if math.isfinite(value) else time.time()


def _to_wire(row: tuple) -> Record:
    seq, kind, execution_id, action, name, ts, value, level, message = row
    if kind == "result":
        return ResultRecord(seq=seq, execution_id=execution_id, action=action, name=name,
                            ts=ts, value=json.loads(value))
    return LogRecord(seq=seq, execution_id=execution_id, action=action, ts=ts,
                     level=level, message=message)
