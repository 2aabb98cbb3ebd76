"""postings carry their transaction's time: a resident's history from the index

ListTransactions (newest first) had to read the time of every transaction of a holder's
accounts before it could sort and cut a page (a heap read each: O(history), cold on a large
ledger). Postings now carry a copy of their transaction's `created_at` (no chained hash covers
it; VerifyLedger checks every copy against its transaction), and
ix_postings_account_created (account_id, created_at, transaction_id) serves the newest postings
of an account in order, so a page reads its own rows only. It replaces
ix_postings_account_transaction, whose lookups by account it serves too. Existing postings are
dated from their transactions (the append-only trigger is off for that one UPDATE).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:25:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BACKFILL = """
UPDATE postings SET created_at =
    (SELECT t.created_at FROM transactions t WHERE t.id = postings.transaction_id)
"""


def upgrade() -> None:
    """Upgrade schema."""
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.add_column('postings', sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
    if postgres:
        op.execute('ALTER TABLE postings DISABLE TRIGGER postings_append_only')
    op.execute(BACKFILL)
    if postgres:
        op.execute('ALTER TABLE postings ENABLE TRIGGER postings_append_only')
    op.create_index(
        'ix_postings_account_created', 'postings', ['account_id', 'created_at', 'transaction_id'],
        unique=False,
    )
    op.drop_index('ix_postings_account_transaction', table_name='postings')


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index(
        'ix_postings_account_transaction', 'postings', ['account_id', 'transaction_id'],
        unique=False,
    )
    op.drop_index('ix_postings_account_created', table_name='postings')
    op.drop_column('postings', 'created_at')
