"""The rewards database schema."""

from __future__ import annotations

import sqlalchemy as sa

from linli_kit.db import UtcDateTime, runtime_tables

metadata = sa.MetaData()
runtime = runtime_tables(metadata)

items = sa.Table(
    "items",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("value_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("discount_percent", sa.Integer, nullable=False, server_default="0"),
    # Taken and returned only by conditional updates; the database refuses a negative stock.
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("monthly_limit", sa.Integer, nullable=False, server_default="0"),
    sa.Column("yearly_limit", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sale_starts_at", UtcDateTime()),
    sa.Column("sale_ends_at", UtcDateTime()),
    sa.Column("voucher_valid_days", sa.Integer, nullable=False),
    sa.Column("partner_id", sa.String(40), nullable=False, server_default=""),
    sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("stock >= 0", name="ck_items_stock_not_negative"),
    sa.CheckConstraint("price > 0", name="ck_items_price_positive"),
)

# Redemptions per resident, item and period ('2026-12' or '2026') against the per-person limits.
redemption_counts = sa.Table(
    "redemption_counts",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(100), primary_key=True),
    sa.Column("item_id", sa.String(40), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.CheckConstraint("count >= 0", name="ck_redemption_counts_not_negative"),
)

redemptions = sa.Table(
    "redemptions",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("item_id", sa.String(40), nullable=False),
    sa.Column("item_title", sa.String(100), nullable=False),
    sa.Column("partner_id", sa.String(40), nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reservation_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("voucher", sa.Text, nullable=False, server_default=""),
    sa.Column("voucher_expires_at", UtcDateTime()),
    sa.Column("holds_stock", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("consumed_at", UtcDateTime()),
    sa.Column("consumed_by", sa.String(300), nullable=False, server_default=""),
    sa.Column("end_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
sa.Index(
    "ix_redemptions_resident",
    redemptions.c.community_id,
    redemptions.c.resident_id,
    redemptions.c.created_at,
)
# The recovery sweep's two questions: sagas left in a state, and vouchers past their validity.
sa.Index("ix_redemptions_state", redemptions.c.state, redemptions.c.updated_at)
sa.Index("ix_redemptions_expiry", redemptions.c.state, redemptions.c.voucher_expires_at)

seat_allocations = sa.Table(
    "seat_allocations",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("event_at", UtcDateTime(), nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("apply_until", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("allocated_at", UtcDateTime()),
    # [{resident_id, applied_at, state, rank, points}], at most 1,000, in rank order once
    # allocated; written under the allocation's row lock.
    sa.Column("applicants", sa.JSON, nullable=False),
)

nominations = sa.Table(
    "nominations",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("honour", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # [{state, by, at, note}]: every step, in order.
    sa.Column("steps", sa.JSON, nullable=False),
)
sa.Index("ix_nominations_created", nominations.c.community_id, nominations.c.created_at)

benefits = sa.Table(
    "benefits",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("min_lifetime", sa.BigInteger, nullable=False),
    sa.Column("tiers", sa.JSON, nullable=False),
)

benefit_applications = sa.Table(
    "benefit_applications",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("benefit_id", sa.String(40), nullable=False),
    sa.Column("resident_id", sa.String(100), nullable=False),
    sa.Column("lifetime", sa.BigInteger, nullable=False),
    sa.Column("tier", sa.String(40), nullable=False),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("decided_by", sa.String(100), nullable=False, server_default=""),
    sa.Column("decided_at", UtcDateTime()),
    sa.Column("note", sa.String(300), nullable=False, server_default=""),
)
# One pending application per resident and benefit, even for two requests at once.
sa.Index(
    "uq_benefit_applications_pending",
    benefit_applications.c.community_id,
    benefit_applications.c.benefit_id,
    benefit_applications.c.resident_id,
    unique=True,
    postgresql_where=benefit_applications.c.state == "pending",
    sqlite_where=benefit_applications.c.state == "pending",
)
sa.Index(
    "ix_benefit_applications_applied",
    benefit_applications.c.community_id,
    benefit_applications.c.applied_at,
)
