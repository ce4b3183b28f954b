"""Verified tokens cached in this core process for a few seconds (agents' hot path).

Every agent call carried a token lookup (a database round trip, a thread hop);
a node sends one every few seconds. The cache keeps what a verified token says
(a ``Principal``: plain data, no ORM object) for ``token_cache_seconds``.

Bounded staleness: a token revoked through *this* process is forgotten at once; one
revoked through another core process may still be accepted here for at most
``token_cache_seconds``. Expiry is compared at every use, cached or not.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from vantagepoint.core.auth import check_token, hash_secret, token_scopes
from vantagepoint.core.store.models import Token
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Unauthorized

MAX_ENTRIES = 50_000  # beyond this the oldest entries go first


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
    """secret hash -> (Principal, cached at); ``ttl`` 0 turns the cache off."""

    def __init__(self, ttl: float, clock=time.monotonic):
        self.ttl, self._clock = ttl, clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, secret: str) -> Principal | None:
        """The cached, still fresh principal for a secret (expiry checked), or None."""
        if self.ttl <= 0:
            return None
        key = hash_secret(secret)
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self._clock() - entry[1] >= self.ttl:
            return None
        return entry[0].check_live()

    def verify(self, sessions, secret: str) -> Principal:
        """Look the secret up in the database (Unauthorized if not live) and cache it."""
        with sessions() as db:
            principal = Principal.of(check_token(db, secret))
        if self.ttl > 0:
            self._put(hash_secret(secret), principal)
        return principal

    def _put(self, key: str, principal: Principal) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (principal, self._clock())
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]

    def forget(self, token_id: int) -> None:
        """Drop a token revoked in this process (another process notices within ttl)."""
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[0].id != token_id}
