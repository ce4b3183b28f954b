"""Alarms on the node: workers spool them, a fast thread sends them ahead of the results.

An alarm must reach the core within a second or two of its result, while
results travel in batches every ``upload_seconds``. Workers therefore write
each alarm into a table of their own in the spool file (durable across a
crash of either process) and the agent's ``AlarmSender`` posts what is new
every ``alarm_seconds``; (node, spool_id, seq) makes a resend harmless.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vantagepoint.agent.client import FAILURES, CoreClient, describe, is_permanent
from vantagepoint.agent.uploader import KEEP_UPLOADED, Backoff, _Periodic
from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.models import ActionSpec
from vantagepoint.spec.watch import ActionWatch, Firing
from vantagepoint.tools.base import Tool
from vantagepoint.wire import AlarmBatch, AlarmRecord

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    condition TEXT NOT NULL,
    result TEXT NOT NULL,
    value REAL NOT NULL,
    ts REAL NOT NULL,
    raised_at REAL NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alarms_pending ON alarms (sent, seq);
"""
_COLUMNS = "seq, execution_id, action, condition, result, value, ts, raised_at"


class AlarmSpool:
    """The spool file's alarm table, through one connection of this process."""

    def __init__(self, path: str | Path, spool_id: str, busy_timeout: float = 30.0):
        self.spool_id = spool_id
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        with self._lock:
            self._db.executescript(_SCHEMA)

    def add(self, execution_id: int, action: str, firing: Firing) -> int:
        """Spool one alarm; return its seq."""
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO alarms ({_COLUMNS.removeprefix('seq, ')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (int(execution_id), action, firing.condition, firing.result, firing.value,
                 firing.ts, time.time()))
            return int(cur.lastrowid)

    def pending(self, limit: int = 200) -> list[AlarmRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM alarms WHERE sent = 0 "
                                    "ORDER BY seq LIMIT ?", (int(limit),)).fetchall()
        names = _COLUMNS.split(", ")
        return [AlarmRecord(**dict(zip(names, row, strict=True))) for row in rows]

    def mark_sent(self, seqs: list[int], state: int = 1) -> None:
        """Mark alarms sent (1) or refused by the core for good (-1)."""
        with self._lock:
            self._db.executemany("UPDATE alarms SET sent = ? WHERE seq = ?",
                                 [(state, int(s)) for s in seqs])

    def purge_sent(self, older_than: float) -> int:
        """Delete alarms the core has (or refused) raised before ``older_than``."""
        with self._lock:
            return self._db.execute("DELETE FROM alarms WHERE sent != 0 AND raised_at < ?",
                                    (float(older_than),)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


class AlarmSender(_Periodic):
    """Posts spooled alarms to the core every ``period`` seconds, retrying on failure."""

    def __init__(self, spool: AlarmSpool, client: CoreClient, period: float):
        super().__init__("alarm-sender", 0.0)
        self.spool, self.client, self.period = spool, client, period
        self._backoff = Backoff(period, 10.0)
        self._failing = False
        self._purged = 0.0

    def tick(self) -> float:
        if not self.send_pending():
            return self._backoff.failed()
        if time.time() - self._purged > 3600:
            self._purged = time.time()
            self.spool.purge_sent(self._purged - KEEP_UPLOADED)
        return self._backoff.succeeded()

    def send_pending(self, timeout: float | None = None) -> bool:
        """Send every pending alarm; False when the core could not be reached."""
        while alarms := self.spool.pending():
            seqs = [a.seq for a in alarms]
            try:
                self.client.send_alarms(AlarmBatch(spool_id=self.spool.spool_id, alarms=alarms),
                                        timeout=timeout)
            except FAILURES as exc:
                if not is_permanent(exc):
                    self._note_failure(exc)
                    return False
                log.error("the core refused alarms %s for good: %s", seqs, describe(exc))
                self.spool.mark_sent(seqs, state=-1)
                continue
            self.spool.mark_sent(seqs)
            self._failing = False
        return True

    def _note_failure(self, exc: BaseException) -> None:
        if not self._failing:
            log.warning("sending alarms failed (will retry): %s", describe(exc))
        self._failing = True


class ActionAlarms:
    """A worker's watch over its action's results: conditions in, spooled alarms out.

    Conditions on results the core derives (``ResultSpec.derived``) are left to
    the core. A ticker moves the windows once per ``tick`` seconds, so that
    silence (``count(x, 10s) == 0``) fires while nothing arrives.
    """

    def __init__(self, watch: ActionWatch, spool: AlarmSpool, execution_id: int, action: str,
                 say: Callable[[str, str], None]):
        self.watch, self.spool, self.say = watch, spool, say
        self.execution_id, self.action = execution_id, action
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @classmethod
    def build(cls, action: ActionSpec, tool: type[Tool], start: float, spool: AlarmSpool,
              execution_id: int, say: Callable[[str, str], None]) -> ActionAlarms | None:
        """The watch for an action's node-side conditions, or None when it has none."""
        derived = {r.name for r in tool.results if r.derived}
        conditions = [c for c in map(parse_condition, action.conditions)
                      if c.result not in derived]
        if not conditions:
            return None
        return cls(ActionWatch(conditions, start), spool, execution_id, action.name, say)

    def observe(self, name: str, ts: float, value: Any) -> None:
        with self._lock:
            fired = self.watch.observe(name, ts, value)
        self._raise(fired)

    def run_ticker(self, period: float = 0.5) -> None:
        """Tick the windows until ``stop()``."""
        def loop() -> None:
            while not self._stop.wait(period):
                with self._lock:
                    fired = self.watch.tick(time.time())
                self._raise(fired)
        self._ticker = threading.Thread(target=loop, name="condition-ticker", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        """Stop ticking and close the spool connection (the run is over)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        self.spool.close()

    def _raise(self, fired: list[Firing]) -> None:
        for firing in fired:
            self.spool.add(self.execution_id, self.action, firing)
            self.say(f"alarm: {firing.condition} (value {firing.value:g} at "
                     f"{firing.ts:.3f})", "warning")
