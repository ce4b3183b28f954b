"""Migration 0023: the token stamp and the triggers that bump it, up and down again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.core.test_migration_0008 import _upgrade


def _revoke_all(engine) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE tokens SET revoked_at = '2026-01-01 00:00:00'"))


def test_0023_adds_the_stamp_its_triggers_and_takes_them_away(database_url):
    _upgrade(database_url, "0023")
    engine = create_engine(database_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO tokens (kind, label, secret_hash, scopes, created_at) "
                       "VALUES ('node', '', 'h1', 'node', '2026-01-01 00:00:00')"))
        assert c.scalar(text("SELECT version FROM token_stamp")) == 0  # inserts: no
    _revoke_all(engine)
    with engine.connect() as c:
        assert c.scalar(text("SELECT version FROM token_stamp")) == 1
    _upgrade(database_url, "0022", command.downgrade)
    assert "token_stamp" not in inspect(engine).get_table_names()
    _revoke_all(engine)  # no trigger left behind to fail on the missing table
    with engine.connect() as c:
        assert c.scalar(text("SELECT count(*) FROM tokens")) == 1
    engine.dispose()
