"""node clock skew; executions processed

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import vantagepoint.core.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_skew_ms', sa.Float(), nullable=True))
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processed_at', vantagepoint.core.store.types.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('clock_skew_ms')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('processed_at')
