"""reservation refunds: when and why a committed redemption was given back

A committed reward redemption may be refunded once (R4: its voucher cancelled or expired
unused); the reservation keeps its commit's `settled_at` and `settle_reason` and records the
refund beside them. The state column already holds 'refunded' (String(20)); the ledger's
`uq_transactions_source` keeps one `r4.refund` transaction per reservation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('reservations', sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reservations', sa.Column('refund_reason', sa.String(length=300), server_default='', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('reservations', 'refund_reason')
    op.drop_column('reservations', 'refunded_at')
