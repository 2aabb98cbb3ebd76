"""rosters and the open-set face decision record

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 17:10:16.075744

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
    op.create_table('roster_entries',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('activity_id', sa.String(length=40), nullable=False),
    sa.Column('occurrence_starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resident_id', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('added_by', sa.String(length=40), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id', 'activity_id'], ['activities.community_id', 'activities.id'], ),
    sa.PrimaryKeyConstraint('community_id', 'activity_id', 'occurrence_starts_at', 'resident_id')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('face_record', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('out_face_record', sa.JSON(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('out_face_record')
        batch_op.drop_column('face_record')

    op.drop_table('roster_entries')
