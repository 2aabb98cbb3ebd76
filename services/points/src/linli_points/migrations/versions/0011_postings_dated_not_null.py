"""postings.created_at is NOT NULL: every posting carries its transaction's time

Every write sets it and 0010 dated every posting then, but a server older than 0010 still
running after it (migrate runs apart from serve) writes postings without one; those are dated
from their transactions first (the append-only trigger is off for that one UPDATE). Batch mode,
so that SQLite rebuilds the table (nothing references postings).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BACKFILL = """
UPDATE postings SET created_at =
    (SELECT t.created_at FROM transactions t WHERE t.id = postings.transaction_id)
WHERE created_at IS NULL
"""


def upgrade() -> None:
    """Upgrade schema."""
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute('ALTER TABLE postings DISABLE TRIGGER postings_append_only')
    op.execute(BACKFILL)
    if postgres:
        op.execute('ALTER TABLE postings ENABLE TRIGGER postings_append_only')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.alter_column(
            'created_at', existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.alter_column(
            'created_at', existing_type=sa.DateTime(timezone=True), nullable=True
        )
