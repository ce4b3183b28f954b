"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from vantagepoint.config import CoreSettings

PG_URL = os.environ.get("VANTAGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"
# Scheduler limits for tests: seconds-long executions, back to back.
QUICK = {"min_duration_seconds": 0.5, "padding_seconds": 0.0}


def _pg_admin_engine():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_reachable() -> str | None:
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable here"
        return f"PostgreSQL at {PG_URL} is not reachable: {exc.__class__.__name__}"
    finally:
        engine.dispose()  # its pooled connection would count against max_connections


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A new, empty database for this test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/core.db"
        return
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    name = f"vp_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def core_settings(database_url, tmp_path) -> CoreSettings:
    from tests.support import ADMIN_TOKEN

    return CoreSettings(database_url=database_url, admin_token=ADMIN_TOKEN, tick_seconds=0.05,
                        start_margin_seconds=0.5, files_dir=tmp_path / "files", **QUICK)
