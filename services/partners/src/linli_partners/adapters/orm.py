"""The partners database schema."""

from __future__ import annotations

import sqlalchemy as sa

from linli_kit.db import UtcDateTime, runtime_tables

metadata = sa.MetaData()
runtime = runtime_tables(metadata)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("benefits", sa.JSON, nullable=False),
    sa.Column("consume_vouchers", sa.Boolean, nullable=False),
    sa.Column("checks_per_minute", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime()),
)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("partner_id", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("terms", sa.Text, nullable=False),
    sa.Column("signed_on", sa.Date, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("terminated_on", sa.Date),
    sa.Column("terminate_reason", sa.String(300), nullable=False, server_default=""),
)

contributions = sa.Table(
    "contributions",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("partner_id", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("description", sa.String(300), nullable=False),
    sa.Column("value_fen", sa.BigInteger, nullable=False),
    sa.Column("given_at", UtcDateTime(), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.CheckConstraint("value_fen > 0", name="ck_contributions_value_positive"),
)
# The board sums a year's contributions per partner.
sa.Index("ix_contributions_year", contributions.c.community_id, contributions.c.year)

titles = sa.Table(
    "partner_titles",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("partner_id", sa.String(40), primary_key=True),
    # One title per partner and year, even if two contributions cross the threshold at once.
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("certificate_number", sa.String(100), nullable=False, unique=True),
    sa.Column("value_fen", sa.BigInteger, nullable=False),
    sa.Column("granted_at", UtcDateTime(), nullable=False),
    sa.Column("contribution_id", sa.String(32), nullable=False),
)

# The next certificate number of a community's year, taken by one upsert.
title_serials = sa.Table(
    "title_serials",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

benefits = sa.Table(
    "partner_benefits",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    # Unique in the community: a partner's scopes name benefits by id.
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("partner_id", sa.String(40), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("min_yearly", sa.BigInteger, nullable=False),
    sa.Column("min_lifetime", sa.BigInteger, nullable=False),
    sa.Column("tiers", sa.JSON, nullable=False),
    sa.Column("top_n", sa.Integer, nullable=False),
)

codes = sa.Table(
    "eligibility_codes",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    # SHA-256 of the code: the code itself is never stored.
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("used_at", UtcDateTime()),
)
sa.Index("ix_eligibility_codes_expiry", codes.c.expires_at)

checks = sa.Table(
    "eligibility_checks",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("partner_id", sa.String(40), nullable=False),
    sa.Column("benefit_owner_id", sa.String(40), nullable=False),
    sa.Column("benefit_id", sa.String(40), nullable=False),
    sa.Column("qualifies", sa.Boolean, nullable=False),
    sa.Column("tier", sa.String(40), nullable=False),
    sa.Column("checked_at", UtcDateTime(), nullable=False),
    sa.Column("valid_until", UtcDateTime(), nullable=False),
)
sa.Index(
    "ix_eligibility_checks_resident",
    checks.c.community_id,
    checks.c.resident_id,
    checks.c.checked_at,
)

# Funds and grants (O5, E5).

fund_calls = sa.Table(
    "fund_calls",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("opens_on", sa.Date, nullable=False),
    sa.Column("closes_on", sa.Date, nullable=False),
    sa.Column("budget_fen", sa.BigInteger, nullable=False),
    sa.Column("min_award_fen", sa.BigInteger, nullable=False),
    sa.Column("max_award_fen", sa.BigInteger, nullable=False),
    # One call per community and year.
    sa.UniqueConstraint("community_id", "year", name="uq_fund_calls_year"),
    sa.CheckConstraint("budget_fen > 0", name="ck_fund_calls_budget_positive"),
)

proposals = sa.Table(
    "fund_proposals",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("call_id", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("proposer_id", sa.String(100), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("requested_fen", sa.BigInteger, nullable=False),
    sa.Column("submitted_at", UtcDateTime(), nullable=False),
    sa.Column("awarded_fen", sa.BigInteger),
    sa.Column("awarded_by", sa.String(100), nullable=False, server_default=""),
    sa.Column("awarded_at", UtcDateTime()),
)

scores = sa.Table(
    "fund_scores",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("call_id", sa.String(32), primary_key=True),
    sa.Column("proposal_id", sa.String(32), primary_key=True),
    # One score per panel member and proposal.
    sa.Column("member_id", sa.String(100), primary_key=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("scored_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("score >= 0 AND score <= 100", name="ck_fund_scores_range"),
)

milestones = sa.Table(
    "fund_milestones",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("call_id", sa.String(32), primary_key=True),
    sa.Column("proposal_id", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("on", sa.Date, nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("recorded_by", sa.String(100), nullable=False),
)

agencies = sa.Table(
    "agencies",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("grade", sa.String(10), nullable=False),
    sa.Column("contract_starts_on", sa.Date, nullable=False),
    sa.Column("contract_ends_on", sa.Date, nullable=False),
)

visits = sa.Table(
    "supervision_visits",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("agency_id", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("on", sa.Date, nullable=False),
    sa.Column("supervisor", sa.String(100), nullable=False),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("recorded_by", sa.String(100), nullable=False),
)

research_grants = sa.Table(
    "research_grants",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("foundation", sa.String(100), nullable=False),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("volunteer_ids", sa.JSON, nullable=False),
    sa.Column("granted_on", sa.Date, nullable=False),
    sa.Column("outcomes", sa.Text, nullable=False, server_default=""),
    sa.Column("recommend_publication", sa.Boolean),
    sa.Column("decided_by", sa.String(100), nullable=False, server_default=""),
    sa.Column("decided_at", UtcDateTime()),
)

rota_slots = sa.Table(
    "legal_rota_slots",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("firm", sa.String(100), nullable=False),
    sa.Column("weekday", sa.Integer, nullable=False),
    sa.Column("start_hour", sa.Integer, nullable=False),
    sa.Column("end_hour", sa.Integer, nullable=False),
)

legal_cases = sa.Table(
    "legal_cases",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("slot_id", sa.String(32), nullable=False, server_default=""),
    sa.Column("firm", sa.String(100), nullable=False, server_default=""),
)
sa.Index(
    "ix_legal_cases_resident",
    legal_cases.c.community_id,
    legal_cases.c.resident_id,
    legal_cases.c.opened_at,
)

case_steps = sa.Table(
    "legal_case_steps",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("case_id", sa.String(32), primary_key=True),
    # The step's place in the case: 0 is its opening.
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)
