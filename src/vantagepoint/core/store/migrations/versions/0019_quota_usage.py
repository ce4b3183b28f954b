"""quota running totals; index on node registration time

Revision ID: 0019
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'quota_usage',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('node_seconds', sa.Float(), nullable=False),
        sa.Column('data_bytes', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id'),
    )
    # The totals of the ledger so far.
    op.execute(
        "INSERT INTO quota_usage (user_id, node_seconds, data_bytes) "
        "SELECT user_id, SUM(CASE WHEN kind = 'time' THEN amount ELSE 0 END), "
        "SUM(CASE WHEN kind = 'data' THEN amount ELSE 0 END) "
        "FROM quota_ledger GROUP BY user_id")
    op.create_index('ix_nodes_registered_at', 'nodes', ['registered_at'])


def downgrade() -> None:
    op.drop_index('ix_nodes_registered_at', table_name='nodes')
    op.drop_table('quota_usage')
