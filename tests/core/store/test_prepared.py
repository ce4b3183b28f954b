"""Prepared statements run on the driver's cursor, in the session's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select

from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import QuotaEntry, User
from vantagepoint.core.store.prepared import Prepared

ENTRY = QuotaEntry.__table__
ADD = Prepared(insert(ENTRY).values(
    {c: bindparam(c) for c in ("user_id", "schedule_id", "kind", "amount", "reason",
                               "created_at")}))
READ = Prepared(select(ENTRY.c.amount, ENTRY.c.created_at).where(
    ENTRY.c.user_id == bindparam("user"), ENTRY.c.kind == "time").order_by(ENTRY.c.id))
USERS = Prepared(select(User.id).where(User.name == bindparam("name")))
AT = datetime(2026, 12, 1, 12, 0, 30, 123456, tzinfo=UTC)


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _user(sessions, name: str = "u") -> int:
    with sessions.begin() as db:
        user = User(name=name)
        db.add(user)
        db.flush()
        return user.id


def _line(user_id: int, amount: float, kind: str = "time") -> dict:
    return dict(user_id=user_id, schedule_id=None, kind=kind, amount=amount, reason="r",
                created_at=AT)


def test_values_are_bound_and_read_back_as_sqlalchemy_would(sessions):
    user_id = _user(sessions)
    with sessions.begin() as db:
        ADD.run_many(db, [_line(user_id, 1.5), _line(user_id, 2.5), _line(user_id, 9, "data")])
    with sessions() as db:
        rows = READ.converted_rows(db, {"user": user_id})  # the literal 'time' filled in
    assert rows == [[1.5, AT], [2.5, AT]]  # the UTC time exact, aware again


def test_statements_run_in_the_sessions_transaction(sessions):
    user_id = _user(sessions)
    with sessions() as db:
        ADD.run(db, _line(user_id, 4.0))
        assert READ.rows(db, {"user": user_id})  # seen inside the transaction
        db.rollback()
    with sessions() as db:
        assert READ.rows(db, {"user": user_id}) == []  # gone with it


def test_pending_objects_are_flushed_first_as_the_session_would(sessions):
    with sessions() as db:
        db.add(User(name="pending"))
        assert USERS.first(db, {"name": "pending"}) is not None
        assert USERS.first(db, {"name": "nobody"}) is None


def test_a_missing_value_is_named(sessions):
    with sessions() as db, pytest.raises(KeyError, match="'user'"):
        READ.rows(db, {})
