"""rule kinds stored on transactions (backfilled from their rule ids); runs

Transactions get `rule_kind` (what the earning rule that posted them pays for) instead of
having it parsed out of rule ids, and `hash_version`: entries chained before this revision
keep version 1 (their hash does not cover the kind, so they still verify); entries posted
since hash their kind too (version 2). The backfill is the last time rule ids are parsed:
P1 ids start with 'p1.' (the rule book enforces it), a rating's id joins two with '+',
compensations are appeal awards, the other default ids name their kind; reservations,
expiries and unknown ids get ''.

`runs` records what each close, leaderboard rebuild and committee change did, so that a
retried request answers with the first result.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BACKFILL = """
UPDATE transactions SET rule_kind = CASE
    WHEN kind = 'compensation' THEN 'appeal'
    WHEN rule_id LIKE 'p1.%' AND rule_id LIKE '%+%' THEN 'rating'
    WHEN rule_id LIKE 'p1.%' THEN 'service'
    WHEN rule_id LIKE 'p2.first!_participation%' ESCAPE '!' THEN 'first_participation'
    WHEN rule_id LIKE 'p2.streak%' THEN 'streak'
    WHEN rule_id LIKE 'p5.mentoring%' THEN 'mentoring'
    WHEN rule_id LIKE 'p5.project!_lead%' ESCAPE '!' THEN 'project_lead'
    WHEN rule_id LIKE 'p5.training%' THEN 'training'
    WHEN rule_id LIKE 'p5.emergency%' THEN 'emergency'
    WHEN rule_id LIKE 'p8.appeal%' THEN 'appeal'
    ELSE ''
END
"""


def upgrade() -> None:
    """Upgrade schema."""
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.add_column('transactions', sa.Column('rule_kind', sa.String(length=30), server_default='', nullable=False))
    op.add_column('transactions', sa.Column('hash_version', sa.SmallInteger(), server_default='1', nullable=False))
    if postgres:
        # The ledger refuses UPDATE; this one fills a new column that no chained hash covers.
        op.execute('ALTER TABLE transactions DISABLE TRIGGER transactions_append_only')
    op.execute(BACKFILL)
    if postgres:
        op.execute('ALTER TABLE transactions ENABLE TRIGGER transactions_append_only')
    op.create_table('runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.String(length=63), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('year', sa.Integer(), server_default='0', nullable=False),
    sa.Column('transaction_ids', sa.Text(), server_default='', nullable=False),
    sa.Column('residents', sa.Integer(), server_default='0', nullable=False),
    sa.Column('members', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('runs')
    op.drop_column('transactions', 'hash_version')
    op.drop_column('transactions', 'rule_kind')
