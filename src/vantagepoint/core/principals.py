"""Verified tokens cached in this core process (agents' hot path).

Every agent call carried a token lookup (a database round trip, a thread hop);
a node sends one every few seconds. The cache keeps what a verified token says
(a ``Principal``: plain data, no ORM object) for ``token_cache_seconds``.

Revocation: a token revoked through *this* process is forgotten at once. Triggers
bump the store's token stamp on every change to a token (migration 0023), and a
thread reads it every ``token_stamp_poll_seconds``: a new value empties the cache,
so a token revoked through another process, or by SQL, is refused within about one
poll. While the stamp cannot be read the cache is not trusted (every request looks
its token up). Expiry is compared at every use, cached or not.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from vantagepoint.core.auth import check_token, hash_secret, token_scopes
from vantagepoint.core.store.models import Token
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Unauthorized

MAX_ENTRIES = 50_000  # beyond this the oldest entries go first
TRUST_POLLS = 3  # the cache is trusted this many poll intervals after the last good read
READ_STAMP = "SELECT version FROM token_stamp WHERE id = 1"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for; ``id`` names the token (audit, rate limit)."""

    id: int
    kind: str
    node_name: str | None
    user_id: int | None
    scopes: frozenset[str]
    expires_at: datetime | None

    @classmethod
    def of(cls, token: Token) -> Principal:
        return cls(token.id, token.kind, token.node_name, token.user_id,
                   token_scopes(token), token.expires_at)

    def check_live(self) -> Principal:
        if self.expires_at is not None and self.expires_at <= utcnow():
            raise Unauthorized(f"token {self.id} expired at {self.expires_at.isoformat()}; "
                               "ask for a new one")
        return self


class PrincipalCache:
    """secret hash -> (Principal, cached at); ``ttl`` 0 turns the cache off.

    Nothing is served from the cache until ``watch`` has read the token stamp."""

    def __init__(self, ttl: float, clock=time.monotonic):
        self.ttl, self._clock = ttl, clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._generation = 0  # bumped whenever the cache is emptied
        self._version: int | None = None  # the token stamp last read
        self._trusted_until = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, secret: str) -> Principal | None:
        """The cached, still fresh principal for a secret (expiry checked), or None."""
        if self.ttl <= 0 or self._clock() > self._trusted_until:
            return None
        key = hash_secret(secret)
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self._clock() - entry[1] >= self.ttl:
            return None
        return entry[0].check_live()

    def verify(self, sessions, secret: str) -> Principal:
        """Look the secret up in the database (Unauthorized if not live) and cache it."""
        generation = self._generation
        with sessions() as db:
            principal = Principal.of(check_token(db, secret))
        if self.ttl > 0:
            self._put(hash_secret(secret), principal, generation)
        return principal

    def _put(self, key: str, principal: Principal, generation: int) -> None:
        with self._lock:
            if generation != self._generation:  # emptied since the lookup: it may be stale
                return
            self._entries.pop(key, None)
            self._entries[key] = (principal, self._clock())
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]

    def forget(self, token_id: int) -> None:
        """Drop a token revoked in this process at once (the others see the stamp)."""
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[0].id != token_id}

    def _clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._generation += 1

    def watch(self, engine, interval: float) -> None:
        """Read the token stamp now, then every ``interval`` seconds on a thread."""
        if self.ttl <= 0:
            return
        self.poll(engine, interval)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, args=(engine, interval),
                                        name="token-stamp", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _watch(self, engine, interval: float) -> None:
        while not self._stop.wait(interval):
            self.poll(engine, interval)

    def poll(self, engine, interval: float) -> None:
        """One read of the stamp: empty the cache if it moved; distrust it if unreadable."""
        try:
            version = _read_stamp(engine)
        except Exception as exc:  # noqa: BLE001 - a database down or restarting
            if self._trusted_until != float("-inf"):
                log.warning("token cache off: cannot read the token stamp (%s)", exc)
            self._trusted_until = float("-inf")
            self._clear()
            return
        if version != self._version:
            self._clear()
            self._version = version
        self._trusted_until = self._clock() + TRUST_POLLS * interval


def _read_stamp(engine) -> int:
    """The stamp, read on a bare driver connection: no transaction, no SQLite write lock
    (the store's sessions begin IMMEDIATE), and not behind the requests' queue."""
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(READ_STAMP)
        row = cursor.fetchone()
        cursor.close()
    finally:
        conn.close()  # back to the pool, which rolls PostgreSQL's implicit transaction back
    if row is None:
        raise LookupError("token_stamp has no row 1")
    return int(row[0])
