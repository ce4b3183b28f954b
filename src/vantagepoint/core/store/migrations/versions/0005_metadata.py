"""metadata stream and background results

Revision ID: 0005
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0007'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Topic = sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'metadata',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('node_name', sa.String(length=128), nullable=False),
        sa.Column('topic', Topic, nullable=False),
        sa.Column('ts', sa.Float(), nullable=False),
        sa.Column('message', sa.JSON(), nullable=False),
        sa.Column('spool_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('node_name', 'spool_id', 'seq', name='uq_metadata_origin'),
    )
    with op.batch_alter_table('metadata', schema=None) as batch_op:
        batch_op.create_index('ix_metadata_query', ['node_name', 'topic', 'ts'], unique=False)
        batch_op.create_index('ix_metadata_node_ts', ['node_name', 'ts'], unique=False)
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('background', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.alter_column('execution_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM results WHERE execution_id IS NULL")
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.alter_column('execution_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('background')
    op.drop_table('metadata')
