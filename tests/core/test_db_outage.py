"""Telling a database that is away (restart, down) from a bug, and saying it once."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from tests.support import free_port
from vantagepoint.core.store.db import Outage, unavailable


def _refused() -> OperationalError:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("select 1"))
    return caught.value


def test_a_refused_connection_is_unavailable_a_locked_sqlite_or_a_bug_is_not():
    assert unavailable(_refused())
    locked = OperationalError("select 1", {}, sqlite3.OperationalError("database is locked"))
    assert not unavailable(locked)
    assert not unavailable(ProgrammingError("select x", {}, Exception("no column x")))
    assert not unavailable(ValueError("x"))


def test_a_deadlock_is_not_an_outage(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL error state")
    engine = create_engine(database_url)
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("do $$ begin raise exception using errcode = '40P01'; end $$"))
    assert not unavailable(caught.value)
    with pytest.raises(OperationalError) as caught, engine.connect() as conn:
        conn.execute(text("do $$ begin raise exception using errcode = '57P01'; end $$"))
    assert unavailable(caught.value)
    engine.dispose()


def test_an_outage_is_said_once_and_its_end_once(caplog):
    outage = Outage(logging.getLogger("t"), "the duties")
    with caplog.at_level(logging.WARNING, "t"):
        assert outage.failed(_refused()) and outage.failed(_refused())
        assert not outage.failed(ValueError("a bug"))
        outage.ok()
        outage.ok()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("the database does not answer; the duties wait")
    assert messages[1].startswith("the database answers again")
