"""SQLite: results.value declared TEXT, so a numeric value keeps the exact text it came as

A column declared JSON has numeric affinity in SQLite: the text 0.066434 was turned
into a REAL by SQLite's own decimal parser, which is not correctly rounded (3.40
reads 0.06643399999999999), so a result could come back one ulp off what the node
measured. TEXT affinity stores the JSON text as it is. Existing REAL values are
rewritten from value_num, which the core bound as the exact Python float.
PostgreSQL stores json as text already: nothing to do there.

Revision ID: 0022
Revises: 0021
"""
import json
import re

from alembic import op
from sqlalchemy import text

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

COLUMNS = ("id, execution_id, node_name, action, name, ts, value, value_num, spool_id, seq, "
           "background")


def upgrade() -> None:
    _retype("JSON", "TEXT", "CASE WHEN typeof(value) = 'real' AND value_num IS NOT NULL "
                            "THEN exact_json(value_num) ELSE value END")


def downgrade() -> None:
    _retype("TEXT", "JSON", "value")


def _retype(old: str, new: str, value: str) -> None:
    """Rebuild results with ``value`` declared ``new`` (SQLite's own recipe: copy, swap)."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    conn.connection.driver_connection.create_function("exact_json", 1, json.dumps,
                                                      deterministic=True)
    table = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                              "AND name = 'results'")).scalar_one()
    ddl, found = re.subn(rf"\bvalue {old}\b", f"value {new}", table)
    if found != 1:
        raise RuntimeError(f"results.value is not declared {old}: {table}")
    indexes = conn.scalars(text("SELECT sql FROM sqlite_master WHERE type = 'index' "
                                "AND tbl_name = 'results' AND sql IS NOT NULL")).all()
    conn.execute(text(ddl.replace('"results"', "results_new", 1)
                      .replace("TABLE results (", "TABLE results_new (", 1)))
    conn.execute(text(f"INSERT INTO results_new ({COLUMNS}) SELECT "
                      f"{COLUMNS.replace('value, value_num', value + ', value_num')} "
                      "FROM results"))
    conn.execute(text("DROP TABLE results"))
    conn.execute(text("ALTER TABLE results_new RENAME TO results"))
    for index in indexes:
        conn.execute(text(index))
