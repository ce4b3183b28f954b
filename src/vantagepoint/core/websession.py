"""Dashboard sessions: an API token held in an HTTP-only cookie, guarded against CSRF.

A browser session *is* an API token, so the dashboard authenticates exactly as the
API does. Requests that change something must also carry the session's CSRF token
(a keyed hash of the secret) in the ``X-CSRF-Token`` header or a ``csrf`` form
field; another site can send the cookie but can neither read nor compute that.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from vantagepoint.errors import Forbidden

COOKIE = "vp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Tokens created by a password login carry this label; logging out revokes them.
SESSION_LABEL = "web session"


def csrf_for(secret: str) -> str:
    """The CSRF token bound to one session secret."""
    return hmac.new(secret.encode(), b"vantagepoint-csrf", hashlib.sha256).hexdigest()[:32]


def csrf_ok(secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_for(secret), presented)


def cookie_secret(request: Request) -> str | None:
    """The session cookie's secret; for unsafe methods only with a valid CSRF header."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    if request.method not in SAFE_METHODS and not csrf_ok(
            secret, request.headers.get(CSRF_HEADER)):
        raise Forbidden(f"a request with the session cookie must send the {CSRF_HEADER} header")
    return secret
