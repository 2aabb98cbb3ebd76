"""postings by account and transaction

A resident's history (ListTransactions) reads the transaction ids of their accounts' postings
from the index alone: ix_postings_account_transaction (account_id, transaction_id) replaces
ix_postings_account_id, whose lookups it serves too. Only this index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:17:44

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(
        'ix_postings_account_transaction', 'postings', ['account_id', 'transaction_id'],
        unique=False,
    )
    op.drop_index(op.f('ix_postings_account_id'), table_name='postings')


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index(op.f('ix_postings_account_id'), 'postings', ['account_id'], unique=False)
    op.drop_index('ix_postings_account_transaction', table_name='postings')
