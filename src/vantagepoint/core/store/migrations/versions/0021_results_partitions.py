"""results range-partitioned by ts on PostgreSQL; indexes for an execution's pages

PostgreSQL: the table becomes weekly partitions plus a default one (see
core/store/partitions.py); every row and id is kept. A partitioned table's keys must
hold the partition key, so the primary key is (id, ts) and the idempotency key
(node_name, spool_id, seq, ts): a retried record carries the ts it had, so it still
conflicts. The id sequence is kept (the stream and the API page by id).
SQLite keeps its one table and keys. Both get ix_results_execution (an execution's
results by id) and a wider ix_results_query (node and value in it).

Revision ID: 0021
Revises: 0019
"""
import time

from alembic import op
from sqlalchemy import text

from vantagepoint.core.store import partitions

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

COLUMNS = ("id, execution_id, node_name, action, name, ts, value, value_num, spool_id, seq, "
           "background")
OLD_NAMES = ("results_pkey", "ix_results_query", "ix_results_series", "uq_results_origin",
             "results_execution_id_fkey")
OLD_QUERY_COLUMNS = ['execution_id', 'action', 'name', 'ts']
MAX_WEEKS = 520  # weeks of existing data given partitions; rows beyond go to the default


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        op.create_index('ix_results_execution', 'results', ['execution_id', 'id'])
        op.drop_index('ix_results_query', 'results')
        op.create_index('ix_results_query', 'results', QUERY_COLUMNS)
        return
    _set_aside(conn)
    _create_partitioned(conn)
    for start in _weeks_of_data(conn):
        partitions.create_week(conn, start)
    partitions.ensure_ahead(conn, time.time())
    conn.execute(text("SET LOCAL lock_timeout = 0"))  # the duty's brief wait is not ours
    conn.execute(text(f"INSERT INTO results ({COLUMNS}) SELECT {COLUMNS} FROM results_old"))
    conn.execute(text("ALTER SEQUENCE results_id_seq OWNED BY results.id"))
    conn.execute(text("DROP TABLE results_old"))
    conn.execute(text("ANALYZE results"))


def _set_aside(conn) -> None:
    conn.execute(text("ALTER TABLE results RENAME TO results_old"))
    for name in OLD_NAMES[1:3]:
        conn.execute(text(f"ALTER INDEX {name} RENAME TO {name}_old"))
    for name in (OLD_NAMES[0], OLD_NAMES[3], OLD_NAMES[4]):
        conn.execute(text(f"ALTER TABLE results_old RENAME CONSTRAINT {name} TO {name}_old"))


def _create_partitioned(conn) -> None:
    conn.execute(text(
        "CREATE TABLE results ("
        " id BIGINT NOT NULL DEFAULT nextval('results_id_seq'),"
        " execution_id INTEGER REFERENCES executions (id),"
        " node_name VARCHAR(128) NOT NULL, action VARCHAR(64) NOT NULL,"
        " name VARCHAR(64) NOT NULL, ts DOUBLE PRECISION NOT NULL, value JSON NOT NULL,"
        " value_num DOUBLE PRECISION, spool_id VARCHAR(64) NOT NULL, seq BIGINT NOT NULL,"
        " background BOOLEAN NOT NULL DEFAULT false,"
        " CONSTRAINT results_pkey PRIMARY KEY (id, ts),"
        " CONSTRAINT uq_results_origin UNIQUE (node_name, spool_id, seq, ts)"
        ") PARTITION BY RANGE (ts)"))
    for name, columns in _INDEXES:
        conn.execute(text(f"CREATE INDEX {name} ON results ({columns})"))
    conn.execute(text(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF results DEFAULT"))


# An execution's charts, summary and statistics read this index alone (no heap): node
# and value are in it, so one node's series is one range and a summary is index-only.
QUERY_COLUMNS = ['execution_id', 'action', 'name', 'node_name', 'ts', 'value_num']
_INDEXES = (("ix_results_query", ", ".join(QUERY_COLUMNS)),
            ("ix_results_series", "name, node_name, ts, value_num"),
            # An execution's results in id order (API paging, processors, export).
            ("ix_results_execution", "execution_id, id"))


def _weeks_of_data(conn) -> list[float]:
    """Week starts holding existing rows, within ten years back and one ahead."""
    now = time.time()
    lo, hi = now - 10 * 365 * 86400, now + 365 * 86400
    weeks = conn.scalars(text(
        "SELECT DISTINCT floor((ts - :monday) / :week) FROM results_old "
        "WHERE ts >= :lo AND ts < :hi"),
        {"monday": partitions.MONDAY, "week": partitions.WEEK, "lo": lo, "hi": hi}).all()
    starts = sorted(partitions.MONDAY + w * partitions.WEEK for w in weeks)
    return starts[-MAX_WEEKS:]


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        op.drop_index('ix_results_execution', 'results')
        op.drop_index('ix_results_query', 'results')
        op.create_index('ix_results_query', 'results', OLD_QUERY_COLUMNS)
        return
    conn.execute(text("ALTER TABLE results RENAME TO results_parted"))
    for name in ("results_pkey", "uq_results_origin", "results_execution_id_fkey"):
        conn.execute(text(f"ALTER TABLE results_parted RENAME CONSTRAINT {name} TO {name}_p"))
    for name, _ in _INDEXES:
        conn.execute(text(f"ALTER INDEX {name} RENAME TO {name}_p"))
    conn.execute(text(
        "CREATE TABLE results (LIKE results_parted INCLUDING DEFAULTS, "
        " CONSTRAINT results_pkey PRIMARY KEY (id),"
        " CONSTRAINT uq_results_origin UNIQUE (node_name, spool_id, seq),"
        " CONSTRAINT results_execution_id_fkey FOREIGN KEY (execution_id) "
        " REFERENCES executions (id))"))
    conn.execute(text(f"INSERT INTO results ({COLUMNS}) SELECT {COLUMNS} FROM results_parted"))
    conn.execute(text("ALTER SEQUENCE results_id_seq OWNED BY results.id"))
    conn.execute(text("DROP TABLE results_parted"))
    conn.execute(text(f"CREATE INDEX ix_results_query ON results "
                      f"({', '.join(OLD_QUERY_COLUMNS)})"))
    conn.execute(text(f"CREATE INDEX ix_results_series ON results ({_INDEXES[1][1]})"))
