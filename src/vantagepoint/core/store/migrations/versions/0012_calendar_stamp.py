"""calendar stamp

Revision ID: 0012
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'calendar_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(table, [{'id': 1, 'stamp': 'initial'}])


def downgrade() -> None:
    op.drop_table('calendar_stamp')
