"""training corrections: the latest TrainingAttendanceCorrected applied per attendance session

Points follows training's corrections of a course session's attendance in the order training
made them: the correction time of the latest one applied is kept per (community, session), so
an older correction arriving late changes nothing. Only this table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:19:11

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('training_corrections',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('session', sa.String(length=300), nullable=False),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'session')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('training_corrections')
