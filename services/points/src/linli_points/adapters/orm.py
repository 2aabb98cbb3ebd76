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
    # The database refuses a negative resident balance even if the code were wrong.
    sa.CheckConstraint(
        "balance >= 0 OR holder LIKE 'system-%'", name="ck_accounts_resident_not_negative"
    ),
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
    sa.Column("kind", sa.String(20), nullable=False, server_default="award"),
    sa.Column("resident_id", sa.String(100), nullable=False, server_default=""),
    sa.Column("session", sa.String(300), nullable=False, server_default=""),
    sa.Column("reverses", sa.String(32), nullable=False, server_default=""),
    sa.Column("coefficient_percent", sa.Integer, nullable=False, server_default="100"),
    sa.Column("actor", sa.String(100), nullable=False, server_default=""),
    # The earning rule's kind ('' for reservations and expiries); not parsed from rule_id.
    sa.Column("rule_kind", sa.String(30), nullable=False, server_default=""),
    # Position and hash in the community's chain (P9), and which hash format the entry uses.
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("hash_version", sa.SmallInteger, nullable=False, server_default="1"),
    # One transaction per rule and source: a replayed source cannot post twice.
    sa.UniqueConstraint("community_id", "rule_id", "source_id", name="uq_transactions_source"),
    sa.UniqueConstraint("community_id", "seq", name="uq_transactions_seq"),
)
sa.Index("ix_transactions_created", transactions.c.community_id, transactions.c.created_at)
sa.Index("ix_transactions_session", transactions.c.community_id, transactions.c.session)
sa.Index("ix_transactions_resident", transactions.c.community_id, transactions.c.resident_id)

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

chain_heads = sa.Table(
    "chain_heads",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

reservations = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("sink", sa.String(20), nullable=False),
    sa.Column("memo", sa.String(300), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("settled_at", UtcDateTime()),
    sa.Column("settle_reason", sa.String(300), nullable=False, server_default=""),
    # A committed redemption given back (R4): when and why; the commit's own fields stay.
    sa.Column("refunded_at", UtcDateTime()),
    sa.Column("refund_reason", sa.String(300), nullable=False, server_default=""),
    sa.CheckConstraint("amount > 0", name="ck_reservations_positive"),
)
sa.Index("ix_reservations_pending", reservations.c.state, reservations.c.expires_at)

appeals = sa.Table(
    "appeals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("transaction_id", sa.String(32), sa.ForeignKey("transactions.id"), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("filed_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False, server_default=""),
    sa.Column("decision_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_at", UtcDateTime()),
    sa.Column("compensation_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("compensation_transaction_id", sa.String(32), nullable=False, server_default=""),
)
sa.Index("ix_appeals_resident", appeals.c.community_id, appeals.c.resident_id)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("year", sa.Integer, nullable=False, server_default="0"),
    # Space-separated ids: the transactions a close posted, the committee after a change.
    sa.Column("transaction_ids", sa.Text, nullable=False, server_default=""),
    sa.Column("residents", sa.Integer, nullable=False, server_default="0"),
    sa.Column("members", sa.Text, nullable=False, server_default=""),
)

committee_members = sa.Table(
    "committee_members",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(100), primary_key=True),
    sa.Column("added_at", UtcDateTime(), nullable=False),
)

resident_units = sa.Table(
    "resident_units",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(100), primary_key=True),
    sa.Column("org_unit", sa.String(200), nullable=False),
)

emergency_activities = sa.Table(
    "emergency_activities",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("activity", sa.String(300), primary_key=True),
    sa.Column("called_at", UtcDateTime(), nullable=False),
)

# The time bank (E4): each community's side of a transfer, sent or received, keyed by the
# global transfer id; a received one is recorded once, with its decision (aborted: a tombstone).
timebank_transfers = sa.Table(
    "timebank_transfers",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("direction", sa.String(10), nullable=False),
    sa.Column("peer", sa.String(63), nullable=False),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("counterpart", sa.String(100), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("credited", sa.BigInteger, nullable=False),
    sa.Column("memo", sa.String(300), nullable=False, server_default=""),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("deadline", UtcDateTime(), nullable=False),
    sa.Column("settled_at", UtcDateTime()),
    sa.Column("request_id", sa.String(100), nullable=False, server_default=""),
)
sa.Index("ix_timebank_pending", timebank_transfers.c.state, timebank_transfers.c.deadline)
sa.Index(
    "ix_timebank_resident",
    timebank_transfers.c.community_id,
    timebank_transfers.c.resident_id,
    timebank_transfers.c.created_at,
)
sa.Index(
    "ix_timebank_settled",
    timebank_transfers.c.community_id,
    timebank_transfers.c.peer,
    timebank_transfers.c.settled_at,
)
