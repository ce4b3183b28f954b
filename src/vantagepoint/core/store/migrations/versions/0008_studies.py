"""studies, execution models and study columns on executions

Revision ID: 0008
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import vantagepoint.core.store.types

revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'studies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('created_at', vantagepoint.core.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('owner_id', 'name'),
    )
    op.create_table(
        'study_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=256), nullable=False),
        sa.Column('created_at', vantagepoint.core.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['studies.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('study_id', 'number'),
    )
    op.create_table(
        'study_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('scenario_name', sa.String(length=64), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['study_runs.id']),
        sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'position'),
        sa.UniqueConstraint('schedule_id'),
    )
    with op.batch_alter_table('study_items', schema=None) as batch_op:
        batch_op.create_index('ix_study_items_run_id', ['run_id'], unique=False)
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('study_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('study_run', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('study_params', sa.JSON(), nullable=True))
        batch_op.create_index('ix_executions_study_id', ['study_id'], unique=False)
        batch_op.create_foreign_key('fk_executions_study_id', 'studies', ['study_id'], ['id'])
    with op.batch_alter_table('execution_nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_actions', sa.JSON(), nullable=False,
                                      server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('execution_nodes', schema=None) as batch_op:
        batch_op.drop_column('failed_actions')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_executions_study_id', type_='foreignkey')
        batch_op.drop_index('ix_executions_study_id')
        batch_op.drop_column('study_params')
        batch_op.drop_column('study_run')
        batch_op.drop_column('study_id')
    op.drop_table('study_items')
    op.drop_table('study_runs')
    op.drop_table('studies')
