"""Engine and session set-up, and schema migration on start."""

from __future__ import annotations

import logging
import time
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.store.fastinsert import prepare_staging

MIGRATIONS = Path(__file__).parent / "migrations"
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})
MIGRATION_LOCK = 0x76616E74  # "vant": the advisory lock key held while migrating


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached (down, restarting), not a bug."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError) or "sqlite" in type(exc.orig).__module__:
        return False  # SQLite's "database is locked" is one too, but the file is there
    # No SQLSTATE: the connection failed before the server said anything. 08: connection
    # exceptions; 57P01-03: shutting down, crashed, starting up. Not deadlocks or timeouts.
    state = getattr(exc.orig, "sqlstate", None)
    return state is None or state.startswith("08") or state in UNAVAILABLE_STATES


class Outage:
    """Says once that the database is gone and once that it is back, instead of every try."""

    def __init__(self, log: logging.Logger, what: str):
        self.log, self.what, self.since = log, what, None

    def failed(self, exc: BaseException) -> bool:
        """True (logged at most once per outage) when ``exc`` is the database being away."""
        if not unavailable(exc):
            return False
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning("the database does not answer; %s wait: %s", self.what,
                             str(exc).splitlines()[0])
        return True

    def ok(self) -> None:
        if self.since is not None:
            self.log.warning("the database answers again after %.1f s; %s go on",
                             time.monotonic() - self.since, self.what)
            self.since = None


SQLITE_CHECKPOINT_PAGES = 10_000  # WAL pages (4 KiB) between automatic checkpoints


POOL_SIZE, POOL_OVERFLOW = 20, 20  # PostgreSQL connections per core process


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout and immediate transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # As many kept connections as requests a process serves at once: above the pool's
        # size every checkout opened a new connection (a backend, the staging table) and
        # closed it after, which held the fleet's heartbeats back. At most 40 per process.
        engine = create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                               max_overflow=POOL_OVERFLOW)
        prepare_staging(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _sqlite_pragmas(engine)
    return engine


def _sqlite_pragmas(engine: Engine) -> None:
    # Deferred SQLite transactions that read then write fail at once with
    # "database is locked" under concurrency; BEGIN IMMEDIATE waits instead.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoint (copy the WAL into the database) every ~40 MB of WAL, not every 4 MB:
        # a periodic booking writes 1,000s of index pages, and at the default every commit
        # paid a checkpoint. Durability is the same; index pages rewritten by successive
        # commits are copied once per checkpoint instead of once per commit.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def database_key(engine: Engine) -> str:
    """Which database an engine reaches (its URL without password), rendered once.

    Per-process caches (the fleet, the calendar) are kept per database by this key.
    Weakly keyed: remembering it must not keep an engine (and its connections) alive.
    """
    key = _DATABASE_KEYS.get(engine)
    if key is None:
        _DATABASE_KEYS[engine] = key = engine.url.render_as_string(hide_password=True)
    return key


_DATABASE_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent, safe at every start)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several cores may start at once: one migrates, the others wait, then find
            # nothing to do. (SQLite's BEGIN IMMEDIATE already serialises them.)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
