"""Exactly one core process runs the background duties: a lease row in the database.

Several ``vantage core`` processes share one database; each tries, every
``duties_renew_seconds``, to take the row ``duty_leases['duties']``. It is
taken when free or expired and renewed by its holder; it expires
``duties_lease_seconds`` after the last renewal. A holder that dies (SIGKILL,
host lost) stops renewing, and another process takes over at most
lease + renew seconds later (20 s by default); on the same host, as soon as it sees
that the holder's pid is gone (a restart after a crash need not wait).

Why a lease row rather than PostgreSQL session advisory locks:

- the same code serves SQLite (the embedded default, and two processes on one
  file must not both run duties), where advisory locks do not exist;
- an advisory lock lives on one connection: when that connection breaks (a
  PostgreSQL restart, a proxy cutting idle connections) the lock silently
  vanishes while the process still believes it holds it; a lease is checked
  against its own expiry every time, so the worst case is bounded;
- the row says who holds the duties, which the API shows (GET /health).

Times are the database's clock on PostgreSQL (processes on several hosts
compare one clock) and the host's clock on SQLite (one host by nature). A
holder stops running duties one second before its lease could have been
taken, measured on its own monotonic clock from before the renewal, so two
processes never both believe they hold it. Duties that overlap anyway (a tick
that outlives its lease) stay safe: they lock the rows they change.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.store.models import DutyLease

log = logging.getLogger(__name__)

DUTIES = "duties"
MARGIN_SECONDS = 1.0


def process_id() -> str:
    """A name for this process that is unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def dead_here(holder: str | None) -> bool:
    """Whether ``holder`` was a process of this host that no longer exists.

    A restarted core on the same host (the embedded default after a crash) need not
    wait out its dead predecessor's lease. A reused pid only makes us wait: safe.
    """
    host, _, rest = (holder or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def db_now(db: Session) -> float:
    """Epoch seconds by the database's clock (PostgreSQL) or this host's (SQLite)."""
    if db.get_bind().dialect.name == "postgresql":
        return float(db.scalar(text("select extract(epoch from clock_timestamp())")))
    return time.time()


class Lease:
    """This process's view of one lease row: take, renew, release, and whether held."""

    def __init__(self, sessions: sessionmaker, holder: str, seconds: float, name: str = DUTIES):
        self.sessions, self.holder, self.seconds, self.name = sessions, holder, seconds, name
        self._held_until = 0.0  # time.monotonic() after which we no longer trust we hold it

    def held(self) -> bool:
        return time.monotonic() < self._held_until

    def try_hold(self) -> bool:
        """Take the lease if free or expired, renew it if ours; True while we hold it."""
        started = time.monotonic()
        with self.sessions.begin() as db:
            now = db_now(db)
            row = db.scalar(select(DutyLease).where(DutyLease.name == self.name)
                            .with_for_update())
            if row is None:
                row = DutyLease(name=self.name, expires_at=0.0)
                db.add(row)
            if row.holder != self.holder and row.expires_at > now and not dead_here(row.holder):
                self._lose(row.holder)
                return False
            if row.holder != self.holder:
                self._log_takeover(row, now)
                row.acquired_at = now
            row.holder, row.expires_at = self.holder, now + self.seconds
        self._held_until = started + self.seconds - MARGIN_SECONDS
        return True

    def release(self) -> None:
        """Give the lease up at once (clean shutdown) so another process need not wait."""
        if not self.held():
            return
        self._held_until = 0.0
        with self.sessions.begin() as db:
            db.execute(update(DutyLease).where(DutyLease.name == self.name,
                                               DutyLease.holder == self.holder)
                       .values(expires_at=0.0))
        log.info("process %s released the %s lease", self.holder, self.name)

    def _lose(self, other: str | None) -> None:
        if self.held():
            log.warning("process %s lost the %s lease to %s", self.holder, self.name, other)
        self._held_until = 0.0

    def _log_takeover(self, row: DutyLease, now: float) -> None:
        if row.holder is None or row.expires_at <= 0:
            log.warning("process %s takes the %s lease (it was free)", self.holder, self.name)
        elif row.expires_at > now:
            log.warning("process %s takes over the %s lease from %s, a process of this host "
                        "that no longer exists", self.holder, self.name, row.holder)
        else:
            log.warning("process %s takes over the %s lease from %s, whose lease expired "
                        "%.1f s ago", self.holder, self.name, row.holder, now - row.expires_at)


def holder_of(db: Session, name: str = DUTIES) -> dict[str, object]:
    """Who holds the lease now, and for how much longer, as the API shows it."""
    row = db.get(DutyLease, name)
    now = db_now(db)
    if row is None or row.holder is None or row.expires_at <= now:
        return {"holder": None, "expires_in": None}
    return {"holder": row.holder, "expires_in": round(row.expires_at - now, 1)}
