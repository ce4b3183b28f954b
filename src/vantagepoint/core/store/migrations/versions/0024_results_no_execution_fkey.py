"""results.execution_id without its foreign key on PostgreSQL

The key's check ran once per ingested row (a query and a KEY SHARE lock on the
execution's row): most of the server's CPU in ingest, and every upload into an
execution queued behind whoever held that row FOR UPDATE. It guarded nothing the edge
does not: ingest stores only into executions the node takes part in (execution_nodes
keeps its key), the core derives results only from executions it has, and executions
are never deleted. SQLite keeps its key (its check is one index lookup; dropping it
would rebuild the table).

Revision ID: 0024
Revises: 0023
"""
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

KEY = "results_execution_id_fkey"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE results DROP CONSTRAINT {KEY}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE results ADD CONSTRAINT {KEY} FOREIGN KEY (execution_id) "
                   "REFERENCES executions (id)")
