"""course minutes and credits, cancelled sessions, corrected attendance

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 17:10:58.574452

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('course_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=500), server_default='', nullable=False))

    # A course's length moves from whole hours to minutes; its credits were its hours.
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credits', sa.Integer(), nullable=True))
    op.execute('UPDATE courses SET minutes = hours * 60, credits = hours')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('minutes', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('credits', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('ck_courses_hours_positive', type_='check')
        batch_op.drop_column('hours')
        batch_op.create_check_constraint('ck_courses_minutes_positive', 'minutes > 0')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hours', sa.Integer(), nullable=True))
    op.execute('UPDATE courses SET hours = CASE WHEN minutes < 60 THEN 1 ELSE minutes / 60 END')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('hours', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('ck_courses_minutes_positive', type_='check')
        batch_op.drop_column('credits')
        batch_op.drop_column('minutes')
        batch_op.create_check_constraint('ck_courses_hours_positive', 'hours > 0')

    with op.batch_alter_table('course_sessions', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')

    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_column('corrected_at')
