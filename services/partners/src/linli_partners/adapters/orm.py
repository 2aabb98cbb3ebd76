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
