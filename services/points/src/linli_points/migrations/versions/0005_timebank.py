"""time bank: each community's side of a transfer to or from a peer community (E4)

A sent transfer is pending until committed or voided; a received one is recorded once with
its decision (accepted, refused, or aborted: the tombstone of a transfer its sender gave up
on). The transfer id is global: the same on both sides.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'timebank_transfers',
        sa.Column('community_id', sa.String(length=63), nullable=False),
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('direction', sa.String(length=10), nullable=False),
        sa.Column('peer', sa.String(length=63), nullable=False),
        sa.Column('resident_id', sa.String(length=100), nullable=False),
        sa.Column('counterpart', sa.String(length=100), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('credited', sa.BigInteger(), nullable=False),
        sa.Column('memo', sa.String(length=300), server_default='', nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=300), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
        sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('request_id', sa.String(length=100), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('community_id', 'id'),
    )
    op.create_index('ix_timebank_pending', 'timebank_transfers', ['state', 'deadline'], unique=False)
    op.create_index(
        'ix_timebank_resident',
        'timebank_transfers',
        ['community_id', 'resident_id', 'created_at'],
        unique=False,
    )
    op.create_index(
        'ix_timebank_settled', 'timebank_transfers', ['community_id', 'peer', 'settled_at'], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_timebank_settled', table_name='timebank_transfers')
    op.drop_index('ix_timebank_resident', table_name='timebank_transfers')
    op.drop_index('ix_timebank_pending', table_name='timebank_transfers')
    op.drop_table('timebank_transfers')
