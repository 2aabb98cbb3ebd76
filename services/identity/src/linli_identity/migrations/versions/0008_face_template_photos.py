"""the number of photos a face template is made from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:14:10.388132

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
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photos', sa.SmallInteger(), server_default='1', nullable=False))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.drop_column('photos')

