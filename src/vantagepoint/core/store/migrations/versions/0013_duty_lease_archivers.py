"""duty lease and archivers' outbox

Revision ID: 0013
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    leases = op.create_table(
        'duty_leases',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('holder', sa.String(length=128), nullable=True),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.Column('acquired_at', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(leases, [{'name': 'duties', 'holder': None, 'expires_at': 0.0}])
    op.create_table(
        'archive_outbox',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('archiver', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=256), nullable=False),
        sa.Column('topic', sa.String(length=512), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('next_at', sa.Float(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('archiver', 'key', name='uq_archive_outbox_key'),
    )
    op.create_index('ix_archive_outbox_due', 'archive_outbox', ['archiver', 'next_at', 'id'])
    op.create_table(
        'archiver_status',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('delivered', sa.BigInteger(), nullable=False),
        sa.Column('expired', sa.BigInteger(), nullable=False),
        sa.Column('dropped', sa.BigInteger(), nullable=False),
        sa.Column('attempts', sa.BigInteger(), nullable=False),
        sa.Column('failures', sa.BigInteger(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_error_at', sa.Float(), nullable=True),
        sa.Column('last_delivered_at', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('archiver_status')
    op.drop_index('ix_archive_outbox_due', table_name='archive_outbox')
    op.drop_table('archive_outbox')
    op.drop_table('duty_leases')
