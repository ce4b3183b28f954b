"""Migration 0020 on a database with tokens: each keeps what its role let it do."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.core.test_migration_0008 import _upgrade


def test_0020_gives_existing_tokens_their_roles_scopes(database_url):
    _upgrade(database_url, "0019")
    engine = create_engine(database_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO users (id, name, is_admin, created_at) VALUES "
                       "(1, 'root', true, '2026-01-01 00:00:00'), "
                       "(2, 'ann', false, '2026-01-01 00:00:00')"))
        c.execute(text(
            "INSERT INTO tokens (id, kind, label, secret_hash, user_id, node_name, created_at) "
            "VALUES (1, 'user', '', 'h1', 1, NULL, '2026-01-01 00:00:00'), "
            "(2, 'user', '', 'h2', 2, NULL, '2026-01-01 00:00:00'), "
            "(3, 'node', '', 'h3', NULL, 'n1', '2026-01-01 00:00:00')"))
    _upgrade(database_url, "head")
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, scopes, expires_at FROM tokens ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "read schedule admin", None),
                                        (2, "read schedule", None), (3, "node", None)]
    assert "audit_log" in inspect(engine).get_table_names()
    _upgrade(database_url, "0019", command.downgrade)
    assert "audit_log" not in inspect(engine).get_table_names()
    assert "scopes" not in {c["name"] for c in inspect(engine).get_columns("tokens")}
    engine.dispose()
