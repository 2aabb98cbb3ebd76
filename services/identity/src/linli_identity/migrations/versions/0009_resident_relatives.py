"""relatives in other communities, by person key (time bank recipient rule)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:24.252771

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('resident_relatives',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('resident_id', sa.String(length=40), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('display_label', sa.String(length=50), server_default='', nullable=False),
    sa.Column('phone_hint', sa.String(length=4), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('declared_by', sa.String(length=200), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=40), server_default='', nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id', 'resident_id'], ['residents.community_id', 'residents.id'], name='fk_resident_relatives_resident'),
    sa.PrimaryKeyConstraint('community_id', 'resident_id', 'id')
    )
    with op.batch_alter_table('resident_relatives', schema=None) as batch_op:
        batch_op.create_index('ix_resident_relatives_state', ['community_id', 'state', 'created_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('resident_relatives', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_relatives_state')

    op.drop_table('resident_relatives')
