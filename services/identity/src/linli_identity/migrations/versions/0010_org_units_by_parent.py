"""org units by parent: an index on (community_id, parent_id)

The subtree walk (a recursive query) finds each unit's children by parent_id, and the
self-referencing foreign key on (community_id, parent_id) is checked by parent when a unit is
deleted or its id changes; neither had an index, so each scanned org_units.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:30:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.create_index('ix_org_units_parent', ['community_id', 'parent_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.drop_index('ix_org_units_parent')
