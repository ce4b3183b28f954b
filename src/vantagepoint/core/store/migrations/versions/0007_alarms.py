"""alarms, watch cursors and reaction runs

Revision ID: 0007
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import vantagepoint.core.store.types

revision = '0007'
down_revision = '0012'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = vantagepoint.core.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'alarms',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('execution_id', sa.Integer(), nullable=False),
        sa.Column('node_name', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('condition', sa.String(length=200), nullable=False),
        sa.Column('result', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('ts', sa.Float(), nullable=False),
        sa.Column('raised_at', sa.Float(), nullable=False),
        sa.Column('origin', sa.String(length=8), nullable=False),
        sa.Column('spool_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('received_at', When(), nullable=False),
        sa.Column('claimed_at', When(), nullable=True),
        sa.Column('delivered_at', When(), nullable=True),
        sa.Column('acked_at', When(), nullable=True),
        sa.Column('acked_by', sa.String(length=64), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['execution_id'], ['executions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('node_name', 'spool_id', 'seq', name='uq_alarms_origin'),
    )
    op.create_index('ix_alarms_execution', 'alarms', ['execution_id', 'id'])
    op.create_index('ix_alarms_delivery', 'alarms', ['delivered_at', 'id'])
    op.create_table(
        'watch_cursors',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('last_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'reaction_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alarm_id', BigId, nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('scenario_name', sa.String(length=64), nullable=False),
        sa.Column('node_name', sa.String(length=128), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.ForeignKeyConstraint(['alarm_id'], ['alarms.id']),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id']),
        sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_reaction_runs_key', 'reaction_runs',
                    ['owner_id', 'scenario_name', 'node_name', 'created_at'])


def downgrade() -> None:
    op.drop_table('reaction_runs')
    op.drop_table('watch_cursors')
    op.drop_table('alarms')
