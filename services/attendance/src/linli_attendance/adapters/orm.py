"""The attendance database schema."""

from __future__ import annotations

import sqlalchemy as sa

from linli_kit.db import UtcDateTime, runtime_tables

metadata = sa.MetaData()
runtime = runtime_tables(metadata)

activities = sa.Table(
    "activities",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("service_type", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("starts_at", UtcDateTime(), nullable=False),
    sa.Column("ends_at", UtcDateTime(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("ends_at > starts_at", name="ck_activities_window"),
)
sa.Index("ix_activities_start", activities.c.community_id, activities.c.starts_at)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("activity_id", sa.String(40), nullable=False),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("method", sa.String(30), nullable=False),
    sa.Column("confirmed_by", sa.String(40), nullable=False),
    sa.Column("signed_in_at", UtcDateTime(), nullable=False),
    sa.Column("signed_out_at", UtcDateTime()),
    sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.ForeignKeyConstraint(
        ["community_id", "activity_id"], ["activities.community_id", "activities.id"]
    ),
    sa.CheckConstraint(
        "signed_out_at IS NULL OR signed_out_at >= signed_in_at", name="ck_sessions_order"
    ),
)
# At most one open session per resident and activity, even under concurrent sign-ins.
sa.Index(
    "uq_sessions_open",
    sessions.c.community_id,
    sessions.c.activity_id,
    sessions.c.resident_id,
    unique=True,
    postgresql_where=sessions.c.signed_out_at.is_(None),
    sqlite_where=sessions.c.signed_out_at.is_(None),
)
