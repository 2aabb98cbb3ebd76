"""recorded results: withdrawal counts, key rotation runs, resident imports

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('face_consents', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('deleted_templates', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table('key_rotations',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('key_id', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('re_encrypted', sa.Integer(), nullable=False),
    sa.Column('after', sa.String(length=40), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ),
    sa.PrimaryKeyConstraint('community_id', 'id')
    )
    op.create_table('resident_imports',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ),
    sa.PrimaryKeyConstraint('community_id', 'id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('resident_imports')
    op.drop_table('key_rotations')
    with op.batch_alter_table('face_consents', schema=None) as batch_op:
        batch_op.drop_column('deleted_templates')
