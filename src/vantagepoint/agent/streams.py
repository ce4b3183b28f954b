"""The node's continuous streams: bus messages and background results, spooled then uploaded.

They live in their own table of the spool file with their own ``stream_id``,
so their sequence numbers never meet those of execution records at the core;
like results, a row is marked when the core has it and never deleted before.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.diskspace import SpaceGuard
from vantagepoint.agent.spool import REFUSED
from vantagepoint.agent.uploader import Uploader, UploadStats
from vantagepoint.wire import BackgroundRecord, MetadataRecord, StreamBatch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stream_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stream (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('metadata', 'background')),
    ts REAL NOT NULL,
    topic TEXT NOT NULL,
    name TEXT,
    body TEXT NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS stream_pending ON stream (uploaded, seq);
"""

StreamRecord = MetadataRecord | BackgroundRecord


class StreamSpool:
    """One connection to the stream table; thread-safe within a process."""

    def __init__(self, path: str | Path, busy_timeout: float = 30.0, min_free_bytes: int = 0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.space = SpaceGuard(self.path.parent, min_free_bytes)
        self.refused_full = 0  # background results refused for want of disk space
        self._lock = threading.Lock()
        self._timeout = busy_timeout
        self._db = self._connect()
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO stream_meta (key, value) "
                             "VALUES ('stream_id', ?)", (str(uuid.uuid4()),))
        self.spool_id: str = self._db.execute(
            "SELECT value FROM stream_meta WHERE key = 'stream_id'").fetchone()[0]

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                             check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # keeps every commit across a process crash
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def reopen(self) -> None:
        """A fresh connection in place (the watchdog's repair)."""
        with self._lock:
            self._db.close()
            self._db = self._connect()

    def add_metadata(self, topic: str, ts: float, message: dict[str, Any]) -> int:
        """Spool one bus message (kept whole, whatever its size)."""
        return self._insert("metadata", ts, topic, None, json.dumps(message))

    def add_background(self, action: str, name: str, ts: float, value: Any) -> int | None:
        """Spool one background result; None when the disk is full (Disk.Full says so)."""
        if self.space.problem():
            self.refused_full += 1
            return None
        return self._insert("background", ts, action, name, json.dumps(value, allow_nan=False))

    def _insert(self, kind: str, ts: float, topic: str, name: str | None, body: str) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO stream (kind, ts, topic, name, body) VALUES (?, ?, ?, ?, ?)",
                (kind, float(ts), topic, name, body))
            return int(cur.lastrowid)

    def probe(self) -> None:
        """Raise if the file cannot be read (the watchdog's check)."""
        with self._lock:
            self._db.execute("SELECT count(*) FROM stream_meta").fetchone()

    def pending(self, limit: int = 500) -> list[StreamRecord]:
        """Rows not uploaded yet, oldest first, as wire records."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, ts, topic, name, body FROM stream WHERE uploaded = 0 "
                "ORDER BY seq LIMIT ?", (int(limit),)).fetchall()
        return [_to_wire(row) for row in rows]

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT count(*) FROM stream WHERE uploaded = 0").fetchone()[0])

    def rows(self, kind: str) -> list[StreamRecord]:
        """Every row of one kind still in the file, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT seq, kind, ts, topic, name, body FROM stream "
                                    "WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [_to_wire(row) for row in rows]

    def mark_uploaded(self, seqs: Iterable[int]) -> None:
        self._mark(1, seqs)

    def mark_refused(self, seqs: Iterable[int]) -> None:
        self._mark(REFUSED, seqs)

    def _mark(self, state: int, seqs: Iterable[int]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("UPDATE stream SET uploaded = ? WHERE seq = ?",
                                     [(state, int(s)) for s in seqs])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def purge_uploaded(self, older_than: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM stream WHERE uploaded = 1 AND ts < ?",
                                    (float(older_than),)).rowcount


def _to_wire(row: tuple) -> StreamRecord:
    seq, kind, ts, topic, name, body = row
    if kind == "metadata":
        return MetadataRecord(seq=seq, topic=topic, ts=ts, message=json.loads(body))
    return BackgroundRecord(seq=seq, action=topic, name=name, ts=ts, value=json.loads(body))


class StreamUploader(Uploader):
    """The uploader, draining the stream table to ``POST /agent/stream``."""

    def __init__(self, spool: StreamSpool, client: CoreClient, batch: int = 500,
                 period: float = 1.0, stats: UploadStats | None = None):
        super().__init__(spool, client, batch, period, stats)  # type: ignore[arg-type]
        self._thread.name = "stream-uploader"

    def _post(self, records, timeout: float | None) -> None:
        self.client.upload_stream(StreamBatch(spool_id=self.spool.spool_id, records=records),
                                  timeout=timeout)
