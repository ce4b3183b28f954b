"""file fetches

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import vantagepoint.core.store.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'file_fetches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('execution_id', sa.Integer(), nullable=False),
        sa.Column('node_name', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=1024), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('created_at', vantagepoint.core.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['execution_id'], ['executions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('file_fetches', schema=None) as batch_op:
        batch_op.create_index('ix_file_fetches_execution_id', ['execution_id'], unique=False)
        batch_op.create_index('ix_file_fetches_node_state', ['node_name', 'state'], unique=False)


def downgrade() -> None:
    op.drop_table('file_fetches')
