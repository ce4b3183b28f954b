"""API secrets: generated with enough entropy that a plain SHA-256 is a safe store."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core import scopes as scope_names
from vantagepoint.core.store.models import Token, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Unauthorized


def new_secret(kind: str) -> str:
    """A fresh token secret; the prefix tells users and nodes apart at a glance."""
    return f"vp{kind[0]}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(db: Session, *, kind: str, user: User | None = None,
                node_name: str | None = None, label: str = "",
                secret: str | None = None, scopes: tuple[str, ...] | None = None,
                expires_at: datetime | None = None) -> tuple[Token, str]:
    """Store a new token (hashed) and return it with its secret; scopes default to the role's."""
    secret = secret or new_secret(kind)
    if scopes is None:
        scopes = scope_names.role_scopes(kind, bool(user and user.is_admin))
    token = Token(kind=kind, label=label, secret_hash=hash_secret(secret),
                  user=user, node_name=node_name, scopes=scope_names.dump(scopes),
                  expires_at=expires_at)
    db.add(token)
    db.flush()
    return token, secret


def check_token(db: Session, secret: str) -> Token:
    """The live token for a secret; Unauthorized saying why there is none."""
    token = db.scalar(select(Token).where(Token.secret_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("invalid or revoked token")
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise Unauthorized(f"token {token.id} expired at {token.expires_at.isoformat()}; "
                           "ask for a new one")
    return token


def find_token(db: Session, secret: str) -> Token | None:
    """The live (not revoked, not expired) token for a secret, or None."""
    try:
        return check_token(db, secret)
    except Unauthorized:
        return None


def token_scopes(token: Token) -> frozenset[str]:
    return scope_names.parse(token.scopes or "")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return secrets.compare_digest(got.hex(), digest)
