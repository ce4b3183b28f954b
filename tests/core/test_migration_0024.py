"""Migration 0024: results.execution_id loses its foreign key on PostgreSQL, and gets it back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from tests.core.test_migration_0008 import _upgrade


def _keys(url: str) -> dict[str, list[str]]:
    """The tables each results table (partitions too) refers to by foreign key."""
    engine = create_engine(url)
    found = inspect(engine)
    keys = {table: [k["referred_table"] for k in found.get_foreign_keys(table)]
            for table in found.get_table_names() if table.startswith("results")}
    engine.dispose()
    return keys


def test_0024_drops_the_execution_key_on_postgresql_only(database_url):
    _upgrade(database_url, "0023")
    before = _keys(database_url)
    assert before and all(refs == ["executions"] for refs in before.values())
    _upgrade(database_url, "0024")
    expected = [] if database_url.startswith("postgresql") else ["executions"]
    assert all(refs == expected for refs in _keys(database_url).values())
    _upgrade(database_url, "0023", command.downgrade)
    assert _keys(database_url) == before
