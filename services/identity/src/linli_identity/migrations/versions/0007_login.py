"""login codes, refresh tokens, staff passwords and the login audit

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:38:38.070901

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
    op.create_table('auth_events',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resident_id', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('community_id', 'id')
    )
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.create_index('ix_auth_events_at', ['community_id', 'at'], unique=False)
        batch_op.create_index('ix_auth_events_client', ['community_id', 'client', 'at'], unique=False)
        batch_op.create_index('ix_auth_events_phone', ['community_id', 'phone', 'at'], unique=False)

    op.create_table('login_codes',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('resident_id', sa.String(length=40), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ),
    sa.PrimaryKeyConstraint('community_id', 'id')
    )
    with op.batch_alter_table('login_codes', schema=None) as batch_op:
        batch_op.create_index('ix_login_codes_phone', ['community_id', 'phone', 'created_at'], unique=False)

    op.create_table('refresh_tokens',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('family_id', sa.String(length=40), nullable=False),
    sa.Column('resident_id', sa.String(length=40), nullable=False),
    sa.Column('roles', sa.String(length=300), nullable=False),
    sa.Column('by_password', sa.Boolean(), nullable=False),
    sa.Column('key_id', sa.String(length=100), nullable=False),
    sa.Column('access_jti', sa.String(length=40), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id', 'resident_id'], ['residents.community_id', 'residents.id'], ),
    sa.PrimaryKeyConstraint('community_id', 'id')
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_family', ['community_id', 'family_id'], unique=False)
        batch_op.create_index('ix_refresh_tokens_resident', ['community_id', 'resident_id'], unique=False)

    op.create_table('staff_passwords',
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('resident_id', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id', 'resident_id'], ['residents.community_id', 'residents.id'], ),
    sa.PrimaryKeyConstraint('community_id', 'resident_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('staff_passwords')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_tokens_resident')
        batch_op.drop_index('ix_refresh_tokens_family')

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('login_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_login_codes_phone')

    op.drop_table('login_codes')
    with op.batch_alter_table('auth_events', schema=None) as batch_op:
        batch_op.drop_index('ix_auth_events_phone')
        batch_op.drop_index('ix_auth_events_client')
        batch_op.drop_index('ix_auth_events_at')

    op.drop_table('auth_events')
