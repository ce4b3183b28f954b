"""token scopes and expiry; the audit log of admin actions

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

from vantagepoint.core.store.types import UTCDateTime

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('tokens', sa.Column('scopes', sa.String(length=64), nullable=False,
                                      server_default=''))
    op.add_column('tokens', sa.Column('expires_at', UTCDateTime(), nullable=True))
    # Existing tokens keep what they could do: the scopes their kind and role imply.
    op.execute("UPDATE tokens SET scopes = 'node' WHERE kind = 'node'")
    op.execute("UPDATE tokens SET scopes = CASE WHEN (SELECT u.is_admin FROM users u "
               "WHERE u.id = tokens.user_id) THEN 'read schedule admin' "
               "ELSE 'read schedule' END WHERE kind = 'user'")
    op.create_table(
        'audit_log',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=256), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('outcome', sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
    with op.batch_alter_table('tokens') as batch:
        batch.drop_column('expires_at')
        batch.drop_column('scopes')
