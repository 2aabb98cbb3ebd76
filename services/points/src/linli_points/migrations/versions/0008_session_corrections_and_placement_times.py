"""session corrections and placement times

The latest correction applied per attendance session is kept per kind (`session`: attendance's
SessionCorrected, P1; `training`: training's TrainingAttendanceCorrected, P5) in
session_corrections, which replaces training_corrections (its rows move across as `training`).
resident_units gains placed_at: the time of the placement points has, so an older
ResidentRegistered arriving late changes nothing. Only these tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:46:19

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('session_corrections',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('session', sa.String(length=300), nullable=False),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'kind', 'session')
    )
    op.execute(
        "INSERT INTO session_corrections (community_id, kind, session, corrected_at) "
        "SELECT community_id, 'training', session, corrected_at FROM training_corrections"
    )
    op.drop_table('training_corrections')
    with op.batch_alter_table('resident_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('placed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('resident_units', schema=None) as batch_op:
        batch_op.drop_column('placed_at')

    op.create_table('training_corrections',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('session', sa.String(length=300), nullable=False),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'session')
    )
    op.execute(
        "INSERT INTO training_corrections (community_id, session, corrected_at) "
        "SELECT community_id, session, corrected_at FROM session_corrections "
        "WHERE kind = 'training'"
    )
    op.drop_table('session_corrections')
