"""indexes of staff's reports: sessions by sign-in, ratings by time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:30:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_sessions_signed_in', 'sessions', ['community_id', 'signed_in_at'], unique=False)
    op.create_index('ix_ratings_rated', 'ratings', ['community_id', 'rated_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_ratings_rated', table_name='ratings')
    op.drop_index('ix_sessions_signed_in', table_name='sessions')
