"""Migration 0008 on a database with data: executions and their parts keep every row."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from vantagepoint.core.store.db import alembic_config


def _upgrade(url: str, revision: str, step=command.upgrade) -> None:
    engine = create_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)
    engine.dispose()


def test_0008_keeps_existing_executions_and_adds_study_columns(database_url):
    _upgrade(database_url, "0004")
    engine = create_engine(database_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (id, name, is_admin, created_at) "
                       "VALUES (1, 'ann', false, '2026-01-01 00:00:00')"))
        c.execute(text(
            "INSERT INTO executions (id, owner_id, scenario_name, scenario_version, snapshot, "
            "state, start_at, duration, created_at) VALUES (5, 1, 's', 1, '{}', 'finished', "
            "'2026-01-01 00:00:00', 10, '2026-01-01 00:00:00')"))
        c.execute(text("INSERT INTO execution_nodes (execution_id, node_name, state, updated_at)"
                       " VALUES (5, 'n1', 'done', '2026-01-01 00:00:00')"))
    _upgrade(database_url, "head")
    with engine.connect() as c:
        row = c.execute(text("SELECT scenario_name, study_id, study_run, study_params "
                             "FROM executions WHERE id = 5")).one()
        assert tuple(row) == ("s", None, None, None)
        failed = c.execute(text("SELECT failed_actions FROM execution_nodes")).scalar_one()
        assert failed in ({}, "{}")
    tables = set(inspect(engine).get_table_names())
    assert {"studies", "study_runs", "study_items"} <= tables
    _upgrade(database_url, "0004", command.downgrade)
    assert "studies" not in set(inspect(engine).get_table_names())
    with engine.connect() as c:
        assert c.execute(text("SELECT scenario_name FROM executions")).scalar_one() == "s"
    engine.dispose()
