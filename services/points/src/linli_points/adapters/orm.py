"""The points database schema."""

from __future__ import annotations

import sqlalchemy as sa

from linli_kit.db import BIGINT_ID, UtcDateTime, runtime_tables

metadata = sa.MetaData()
runtime = runtime_tables(metadata)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("purpose", sa.String(20), nullable=False),
    # Derived from postings, kept in the same transaction under a row lock.
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("community_id", "holder", "purpose", name="uq_accounts_owner"),
)

transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("source_id", sa.String(100), nullable=False),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # One transaction per rule and source: a replayed source cannot post twice.
    sa.UniqueConstraint("community_id", "rule_id", "source_id", name="uq_transactions_source"),
)
sa.Index("ix_transactions_created", transactions.c.community_id, transactions.c.created_at)

postings = sa.Table(
    "postings",
    metadata,
    sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
    sa.Column(
        "transaction_id",
        sa.String(32),
        sa.ForeignKey("transactions.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("account_id", BIGINT_ID, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount <> 0", name="ck_postings_nonzero"),
)
