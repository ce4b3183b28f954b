"""API secrets: generated with enough entropy that a plain SHA-256 is a safe store."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.store.models import Token, User


def new_secret(kind: str) -> str:
    """A fresh token secret; the prefix tells users and nodes apart at a glance."""
    return f"vp{kind[0]}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(db: Session, *, kind: str, user: User | None = None,
                node_name: str | None = None, label: str = "",
                secret: str | None = None) -> tuple[Token, str]:
    """Store a new token (hashed) and return it with its secret."""
    secret = secret or new_secret(kind)
    token = Token(kind=kind, label=label, secret_hash=hash_secret(secret),
                  user=user, node_name=node_name)
    db.add(token)
    db.flush()
    return token, secret


def find_token(db: Session, secret: str) -> Token | None:
    """The live token for a secret, or None."""
    token = db.scalar(select(Token).where(Token.secret_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    return token


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
