"""residents a session served, paper sign-in sheet reasons, time-cap flags

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:05:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('served', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(
            sa.Column('paper_sheet_reason', sa.String(length=500), server_default='', nullable=False)
        )
    # The per-day cap on counted time is the time cap (points has its own points cap).
    op.execute("UPDATE flags SET kind = 'time_cap' WHERE kind = 'daily_cap'")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("UPDATE flags SET kind = 'daily_cap' WHERE kind = 'time_cap'")
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('paper_sheet_reason')
        batch_op.drop_column('served')
