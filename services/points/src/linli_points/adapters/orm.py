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
    sa.Column("account_id", BIGINT_ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    # A copy of the transaction's created_at, for the index below; VerifyLedger checks it.
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("amount <> 0", name="ck_postings_nonzero"),
)
# An account's newest transactions from the index alone, in order (a resident's history: a page
# reads only its own rows; leads with account_id, so it serves every lookup by account too).
sa.Index(
    "ix_postings_account_created",
    postings.c.account_id,
    postings.c.created_at,
    postings.c.transaction_id,
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
    # When identity placed the resident there (the envelope's time): an older placement
    # arriving late changes nothing.
    sa.Column("placed_at", UtcDateTime(), nullable=True),
)

emergency_activities = sa.Table(
    "emergency_activities",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("activity", sa.String(300), primary_key=True),
    sa.Column("called_at", UtcDateTime(), nullable=False),
)

# The latest correction applied per attendance session and kind (attendance's SessionCorrected,
# training's TrainingAttendanceCorrected; the correction's time): an older correction arriving
# late changes nothing.
session_corrections = sa.Table(
    "session_corrections",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("session", sa.String(300), primary_key=True),
    sa.Column("corrected_at", UtcDateTime(), nullable=False),
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

# The supervision council (issue 18, domain/council.py): seats, meetings, votes, decisions and
# adopted audits. One council decision per appeal and one adoption per quarter, by key.
council_members = sa.Table(
    "council_members",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("seat", sa.String(30), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False, server_default=""),
    sa.Column("term_start", sa.Date, nullable=False),
    sa.Column("term_end", sa.Date, nullable=False),
    sa.Column("seated_by", sa.String(200), nullable=False),
    sa.Column("seated_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime()),
    sa.Column("end_reason", sa.String(300), nullable=False, server_default=""),
)
sa.Index(
    "ix_council_members_community", council_members.c.community_id, council_members.c.resident_id
)

council_meetings = sa.Table(
    "council_meetings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("community_id", sa.String(63), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("scheduled_for", UtcDateTime(), nullable=False),
    sa.Column("scheduled_by", sa.String(200), nullable=False),
    # Space-separated appeal ids and "<year>Q<quarter>" audits on the agenda.
    sa.Column("appeal_ids", sa.Text, nullable=False, server_default=""),
    sa.Column("audits", sa.Text, nullable=False, server_default=""),
    sa.Column("state", sa.String(20), nullable=False),
    # Space-separated resident ids of the members present.
    sa.Column("attendees", sa.Text, nullable=False, server_default=""),
    sa.Column("held_at", UtcDateTime()),
    sa.Column("minutes", sa.Text, nullable=False, server_default=""),
    sa.Column("closed_at", UtcDateTime()),
)
sa.Index(
    "ix_council_meetings_community",
    council_meetings.c.community_id,
    council_meetings.c.scheduled_for,
)

council_votes = sa.Table(
    "council_votes",
    metadata,
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("council_meetings.id"), primary_key=True),
    sa.Column("appeal_id", sa.String(32), sa.ForeignKey("appeals.id"), primary_key=True),
    sa.Column("member", sa.String(100), primary_key=True),
    sa.Column("choice", sa.String(20), nullable=False),
    sa.Column("compensation", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("at", UtcDateTime(), nullable=False),
)

council_decisions = sa.Table(
    "council_decisions",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("appeal_id", sa.String(32), sa.ForeignKey("appeals.id"), primary_key=True),
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("council_meetings.id"), nullable=False),
    sa.Column("upheld", sa.Boolean, nullable=False),
    sa.Column("compensation", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("consensus", sa.Boolean, nullable=False),
    sa.Column("recorded_by", sa.String(100), nullable=False),
    sa.Column("decided_at", UtcDateTime(), nullable=False),
)
sa.Index("ix_council_decisions_meeting", council_decisions.c.meeting_id)

council_audits = sa.Table(
    "council_audits",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("quarter", sa.SmallInteger, primary_key=True),
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("council_meetings.id"), nullable=False),
    sa.Column("integrity_ok", sa.Boolean, nullable=False),
    sa.Column("transactions_checked", sa.BigInteger, nullable=False),
    sa.Column("accounts_checked", sa.BigInteger, nullable=False),
    sa.Column("breaks", sa.Integer, nullable=False),
    sa.Column("report_sha256", sa.String(64), nullable=False),
    sa.Column("adopted_by", sa.String(100), nullable=False),
    sa.Column("adopted_at", UtcDateTime(), nullable=False),
)
