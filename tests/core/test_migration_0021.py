"""Migration 0021 on a database with results: every row and id kept; partitioned on PG."""

from __future__ import annotations

import time

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.core.test_migration_0008 import _upgrade
from vantagepoint.core.store import partitions

NOW = time.time()
WEEK = partitions.WEEK
# Three weeks of data, a row from 1970 (a node with a wrong clock) and one ahead.
STAMPS = [NOW - 3 * WEEK, NOW - 3 * WEEK + 1, NOW - 2 * WEEK, NOW - WEEK, NOW, 12.0,
          NOW + WEEK]


def _fill(engine) -> None:
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (id, name, is_admin, created_at) "
                       "VALUES (1, 'ann', false, '2026-01-01 00:00:00')"))
        c.execute(text(
            "INSERT INTO executions (id, owner_id, scenario_name, scenario_version, snapshot, "
            "state, start_at, duration, created_at) VALUES (5, 1, 's', 1, '{}', 'finished', "
            "'2026-01-01 00:00:00', 10, '2026-01-01 00:00:00')"))
        for i, ts in enumerate(STAMPS, start=1):
            c.execute(text(
                "INSERT INTO results (id, execution_id, node_name, action, name, ts, value, "
                "value_num, spool_id, seq, background) VALUES (:id, 5, 'n1', 'ping', 'rtt_ms',"
                " :ts, '1.5', 1.5, 'spool-1', :seq, false)"), {"id": 100 + i, "ts": ts, "seq": i})
        if engine.dialect.name == "postgresql":
            c.execute(text("SELECT setval('results_id_seq', 107)"))


def _rows(engine) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT id, execution_id, node_name, ts, seq, value_num FROM results ORDER BY id"))]


def test_0021_keeps_every_row_and_id(database_url):
    _upgrade(database_url, "0019")
    engine = create_engine(database_url)
    _fill(engine)
    before = _rows(engine)
    _upgrade(database_url, "0021")
    assert _rows(engine) == before
    indexes = {i["name"] for i in inspect(engine).get_indexes("results")}
    assert "ix_results_execution" in indexes
    with engine.begin() as c:  # the sequence goes on from where it was
        new_id = c.execute(text(
            "INSERT INTO results (execution_id, node_name, action, name, ts, value, spool_id,"
            " seq) VALUES (5, 'n1', 'ping', 'rtt_ms', :ts, '2', 'spool-2', 1) RETURNING id"),
            {"ts": NOW}).scalar_one()
    assert new_id > 107
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:
            assert partitions.is_partitioned(c)
            starts = {p.start for p in partitions.partitions(c)}
            where = dict(c.execute(text("SELECT tableoid::regclass::text, count(*) "
                                        "FROM results GROUP BY 1")).all())
        assert {partitions.week_start(ts) for ts in STAMPS if ts > 1000} <= starts
        assert where[partitions.DEFAULT] == 1, "the 1970 row"
        assert sum(where.values()) == len(STAMPS) + 1
    engine.dispose()


def test_0021_downgrade_gives_the_plain_table_back(database_url):
    _upgrade(database_url, "0019")
    engine = create_engine(database_url)
    _fill(engine)
    before = _rows(engine)
    _upgrade(database_url, "0021")
    _upgrade(database_url, "0019", command.downgrade)
    assert _rows(engine) == before
    with engine.connect() as c:
        assert not partitions.is_partitioned(c)
    assert "ix_results_execution" not in {i["name"] for i in inspect(engine).get_indexes(
        "results")}
    engine.dispose()
