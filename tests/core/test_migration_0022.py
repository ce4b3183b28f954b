"""Migration 0022: on SQLite results.value becomes TEXT and misread numbers are made exact."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.core.test_migration_0008 import _upgrade
from tests.core.test_migration_0021 import _fill

VALUES = [0.066434, 0.892762, 5, "x", {"a": 0.143997}, True, None, 1e16]


def _add_values(engine) -> None:
    with engine.begin() as c:
        for i, v in enumerate(VALUES, start=1):
            num = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
            c.execute(text(
                "INSERT INTO results (execution_id, node_name, action, name, ts, value, "
                "value_num, spool_id, seq, background) VALUES (5, 'n1', 'a', 'v', :ts, :value,"
                " :num, 'spool-v', :seq, false)"),
                {"ts": 1000.0 + i, "value": json.dumps(v), "num": num, "seq": i})


def _values(engine) -> list:
    """As stored: SQLite's REAL as the float it is, JSON text decoded."""
    column = "value" if engine.dialect.name == "sqlite" else "CAST(value AS TEXT)"
    with engine.connect() as c:
        stored = c.scalars(text(f"SELECT {column} FROM results WHERE spool_id = 'spool-v' "
                                "ORDER BY seq")).all()
    return [json.loads(v) if isinstance(v, str) else v for v in stored]


def test_0022_makes_every_value_exact_and_keeps_rows(database_url):
    _upgrade(database_url, "0021")
    engine = create_engine(database_url)
    _fill(engine)
    _add_values(engine)
    if engine.dialect.name == "sqlite":
        assert _values(engine)[:2] != VALUES[:2], "SQLite misread them before"
    with engine.connect() as c:
        before = c.execute(text("SELECT id, ts, seq FROM results ORDER BY id")).all()
        indexes = {i["name"] for i in inspect(engine).get_indexes("results")}
    _upgrade(database_url, "0022")
    assert _values(engine) == VALUES
    with engine.connect() as c:
        assert c.execute(text("SELECT id, ts, seq FROM results ORDER BY id")).all() == before
    assert {i["name"] for i in inspect(engine).get_indexes("results")} == indexes
    if engine.dialect.name == "sqlite":
        with engine.begin() as c:  # new rows keep their text too
            c.execute(text("INSERT INTO results (execution_id, node_name, action, name, ts, "
                           "value, spool_id, seq) VALUES (5, 'n1', 'a', 'v', 1.0, '0.767762',"
                           " 'spool-w', 1)"))
            assert c.execute(text("SELECT typeof(value) FROM results WHERE spool_id = "
                                  "'spool-w'")).scalar_one() == "text"
    _upgrade(database_url, "0021", command.downgrade)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM results")).scalar_one() == len(before) + (
            engine.dialect.name == "sqlite")
    engine.dispose()
