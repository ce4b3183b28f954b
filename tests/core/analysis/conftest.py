"""A migrated database with two users' executions, and a way to store results in it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vantagepoint.core.store.db import make_engine, make_sessionmaker, migrate
from vantagepoint.core.store.models import Execution, Result, User


def snapshot(*actions: tuple[str, str, str | None]) -> dict:
    """A frozen scenario with one task holding (node, action, interface) actions."""
    return {"name": "s", "tasks": [{"name": "t", "actions": [
        {"name": a, "node": n, "tool": "ping", "interface": i} for n, a, i in actions]}]}


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def owners(sessions) -> dict[str, int]:
    """Users alice (admin) and bob, by name -> id."""
    with sessions.begin() as db:
        users = [User(name="alice", is_admin=True), User(name="bob")]
        db.add_all(users)
        db.flush()
        return {u.name: u.id for u in users}


def add_execution(sessions, owner_id: int, snap: dict) -> int:
    with sessions.begin() as db:
        ex = Execution(owner_id=owner_id, scenario_name="s", scenario_version=1,
                       snapshot=snap, state="finished",
                       start_at=datetime(2026, 1, 1, tzinfo=UTC), duration=3600.0)
        db.add(ex)
        db.flush()
        return ex.id


def add_results(sessions, execution: int, node: str, action: str, name: str,
                points: list[tuple[float, object]], spool: str = "s") -> None:
    """Store (ts, value) points as the ingest does (value_num set for numbers)."""
    from vantagepoint.core.ingest import numeric

    with sessions.begin() as db:
        first = db.query(Result).count() + 1
        db.add_all(Result(execution_id=execution, node_name=node, action=action, name=name,
                          ts=ts, value=value, value_num=numeric(value), spool_id=spool,
                          seq=first + i) for i, (ts, value) in enumerate(points))
