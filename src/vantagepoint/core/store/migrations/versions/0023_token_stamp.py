"""token stamp: a counter the database bumps on every change to a token

Core processes cache verified node tokens; a counter other than the one they last
read tells them to forget the cache. Triggers bump it, so a revocation through any
path (the API, the dashboard's sign-out, an operator's SQL) is seen by every process.

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

BUMP = "UPDATE token_stamp SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    table = op.create_table(
        'token_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(table, [{'id': 1, 'version': 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION vp_bump_token_stamp() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN {BUMP}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER tokens_stamp AFTER UPDATE OR DELETE ON tokens "
                   "FOR EACH STATEMENT EXECUTE FUNCTION vp_bump_token_stamp()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER tokens_stamp_{event.lower()} AFTER {event} ON tokens "
                       f"BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tokens_stamp ON tokens")
        op.execute("DROP FUNCTION vp_bump_token_stamp()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER tokens_stamp_{event}")
    op.drop_table('token_stamp')
