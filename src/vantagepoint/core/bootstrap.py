"""First-start set-up: the schema, the admin user and token; node tokens for local agents."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import select

from vantagepoint.config import CoreSettings
from vantagepoint.core.auth import find_token, issue_token
from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import User

ADMIN = "admin"
log = logging.getLogger(__name__)


def default_token_file(settings: CoreSettings) -> Path:
    """Where a generated admin token goes when no file is set: beside the SQLite file,
    else ./vantage-data/admin-token (where the CLI looks for it). Never in the log."""
    url = settings.database_url
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///").split("?", 1)[0]).parent / "admin-token"
    return Path("vantage-data") / "admin-token"


def ensure_admin(settings: CoreSettings) -> str | None:
    """Migrate, and create the admin and its token if missing; return a new token."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine).begin() as db:
            return _ensure_admin(db, settings)
    finally:
        engine.dispose()


def _ensure_admin(db, settings: CoreSettings) -> str | None:
    admin = db.scalar(select(User).where(User.name == ADMIN))
    given = settings.admin_token
    if admin is not None and (given is None or find_token(db, given) is not None):
        return None
    if admin is None:
        admin = User(name=ADMIN, is_admin=True)
        db.add(admin)
    _, secret = issue_token(db, kind="user", user=admin, label="bootstrap", secret=given)
    path = settings.admin_token_file
    if path is None and given is None:
        path = default_token_file(settings)
    if path is not None:
        _write_secret(path, secret)
        log.warning("bootstrap admin token written to %s", Path(path).absolute())
    return secret


def _write_secret(path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def issue_node_token(settings: CoreSettings, node: str, label: str = "local agent") -> str:
    """A fresh node token bound to ``node`` (for agents started beside the core)."""
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine).begin() as db:
            return issue_token(db, kind="node", node_name=node, label=label)[1]
    finally:
        engine.dispose()
