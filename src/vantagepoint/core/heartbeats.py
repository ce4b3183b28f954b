"""Heartbeats kept in memory and written to the nodes table in one statement per second.

A heartbeat only says "this node is alive and its clock read ts". Writing each one at
once cost a transaction per call (on SQLite, the write lock), most of the call's time,
while liveness is judged in tens of seconds (node_offline_seconds). So each core process
keeps the latest heartbeat per node and writes them all every ``heartbeat_flush_seconds``;
a heartbeat answered is in the database within about that long. A process killed before
a flush loses less than one interval of liveness, which the next heartbeat restores.

A node's first heartbeat in a process is written at once, so that an unregistered node
still gets its 404; nodes are never removed, so a node found once stays known. The
nodes registered when the process starts are known from the start: a core restarted
under a whole fleet is not flooded with first heartbeats.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.store.db import Outage
from vantagepoint.core.store.models import Node

log = logging.getLogger(__name__)
_NODES = Node.__table__
# last_seen never moves back (another process, or an agent's poll of its assignments,
# may have written a later one); a beat without a clock reading keeps the skew it had.
_SEEN = bindparam("b_seen", type_=_NODES.c.last_seen.type)
WRITE = (update(_NODES)
         .where(_NODES.c.name == bindparam("b_name"))
         .values(last_seen=case((or_(_NODES.c.last_seen.is_(None), _NODES.c.last_seen < _SEEN),
                                 _SEEN), else_=_NODES.c.last_seen),
                 clock_skew_ms=func.coalesce(bindparam("b_skew", type_=_NODES.c.clock_skew_ms.type),
                                             _NODES.c.clock_skew_ms)))


@dataclass(frozen=True)
class Beat:
    seen: datetime
    skew_ms: float | None


class HeartbeatBuffer:
    """The latest heartbeat per node not yet written, and the nodes known to exist."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[str, Beat] = {}
        self._known: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = Outage(log, "heartbeats")

    def knows(self, node: str) -> bool:
        return node in self._known

    def learn(self, node: str) -> None:
        with self._lock:
            self._known.add(node)

    def note(self, node: str, beat: Beat) -> None:
        with self._lock:
            self._pending[node] = beat

    def pending(self) -> int:
        return len(self._pending)

    def flush(self, sessions: sessionmaker[Session]) -> int:
        """Write what is pending in one transaction; on failure keep it for the next try."""
        with self._lock:
            beats, self._pending = self._pending, {}
        if not beats:
            return 0
        try:
            with sessions.begin() as db:
                db.connection().execute(WRITE, [
                    {"b_name": node, "b_seen": beat.seen, "b_skew": beat.skew_ms}
                    for node, beat in beats.items()])
        except Exception:
            with self._lock:  # a beat noted since is newer and stays
                self._pending = beats | self._pending
            raise
        return len(beats)

    def start(self, sessions: sessionmaker[Session], interval: float) -> None:
        """Learn the registered nodes, then flush every ``interval`` seconds on a thread."""
        with sessions() as db:
            names = db.scalars(select(_NODES.c.name)).all()
        with self._lock:
            self._known.update(names)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sessions, interval),
                                        name="heartbeats", daemon=True)
        self._thread.start()

    def stop(self, sessions: sessionmaker[Session]) -> None:
        """Stop the thread and write what is left (a clean shutdown loses nothing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._try_flush(sessions)

    def _run(self, sessions: sessionmaker[Session], interval: float) -> None:
        while not self._stop.wait(interval):
            self._try_flush(sessions)

    def _try_flush(self, sessions: sessionmaker[Session]) -> None:
        try:
            self.flush(sessions)
            self._outage.ok()
        except Exception as exc:  # noqa: BLE001 - kept for the next try either way
            if not self._outage.failed(exc):  # a database away is said once, not each second
                log.exception("writing %d heartbeat(s) failed; trying again", self.pending())
