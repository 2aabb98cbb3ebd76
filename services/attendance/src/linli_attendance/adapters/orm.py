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
    sa.Column("place", sa.String(200), nullable=False, server_default=""),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("occurrence_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("kiosk_ids", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("checklist", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("org_units", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("check_in_code", sa.String(12), nullable=False, server_default=""),
    sa.Column("closed_at", UtcDateTime()),
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
    # Sessions from before windows were stored are backfilled from their activity (0002).
    sa.Column("window_starts_at", UtcDateTime(), nullable=False),
    sa.Column("window_ends_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    sa.Column("kiosk_id", sa.String(63), nullable=False, server_default=""),
    sa.Column("face_engine", sa.String(40)),
    sa.Column("face_model_version", sa.String(100)),
    sa.Column("face_similarity", sa.Float),
    sa.Column("face_threshold", sa.Float),
    # The rest of the open-set decision record (issue #19): gallery size, second-best,
    # margin, verification threshold, agreeing frames, whether staff must confirm.
    sa.Column("face_record", sa.JSON),
    sa.Column("out_method", sa.String(30)),
    sa.Column("out_confirmed_by", sa.String(40)),
    sa.Column("out_kiosk_id", sa.String(63)),
    sa.Column("out_face_engine", sa.String(40)),
    sa.Column("out_face_model_version", sa.String(100)),
    sa.Column("out_face_similarity", sa.Float),
    sa.Column("out_face_threshold", sa.Float),
    sa.Column("out_face_record", sa.JSON),
    sa.Column("completed_at", UtcDateTime()),
    sa.Column("reviewed_by", sa.String(40), nullable=False, server_default=""),
    sa.Column("checklist_done", sa.JSON, nullable=False, server_default="[]"),
    # Resident ids the session served (A5): the only residents who may rate it.
    sa.Column("served", sa.JSON, nullable=False, server_default="[]"),
    # Why staff entered the session from a paper sign-in sheet ('' for any other session).
    sa.Column("paper_sheet_reason", sa.String(500), nullable=False, server_default=""),
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
sa.Index(
    "ix_sessions_resident", sessions.c.community_id, sessions.c.resident_id, sessions.c.signed_in_at
)
# Staff's served-hours report reads a community's sessions of one year.
sa.Index("ix_sessions_signed_in", sessions.c.community_id, sessions.c.signed_in_at)
sa.Index(
    "ix_sessions_occurrence",
    sessions.c.community_id,
    sessions.c.activity_id,
    sessions.c.window_starts_at,
)
sa.Index(
    "ix_sessions_forgotten",
    sessions.c.window_ends_at,
    postgresql_where=sessions.c.signed_out_at.is_(None),
    sqlite_where=sessions.c.signed_out_at.is_(None),
)

# Append-only: a correction is never changed or removed.
session_corrections = sa.Table(
    "session_corrections",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("session_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("previous_duration_seconds", sa.Integer, nullable=False),
    sa.Column("duration_seconds", sa.Integer, nullable=False),
    sa.Column("corrected_by", sa.String(40), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("corrected_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["community_id", "session_id"], ["sessions.community_id", "sessions.id"]
    ),
)

flags = sa.Table(
    "flags",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("activity_id", sa.String(40), nullable=False),
    sa.Column("session_id", sa.String(40), nullable=False, server_default=""),
    sa.Column("raised_at", UtcDateTime(), nullable=False),
    sa.Column("resolved_by", sa.String(40), nullable=False, server_default=""),
    sa.Column("resolved_at", UtcDateTime()),
)
sa.Index("ix_flags_raised", flags.c.community_id, flags.c.raised_at)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    # One rating per resident and session, even under concurrent requests.
    sa.Column("session_id", sa.String(40), primary_key=True),
    sa.Column("rated_by", sa.String(40), primary_key=True),
    sa.Column("stars", sa.SmallInteger, nullable=False),
    sa.Column("rated_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["community_id", "session_id"], ["sessions.community_id", "sessions.id"]
    ),
    sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),
)
# Staff's ratings overview lists a community's ratings of one year, newest first.
sa.Index("ix_ratings_rated", ratings.c.community_id, ratings.c.rated_at)

project_leads = sa.Table(
    "project_leads",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("activity_id", sa.String(40), nullable=False),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("motivation", sa.String(500), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
    sa.Column("approved_by", sa.String(40), nullable=False, server_default=""),
    sa.Column("approved_at", UtcDateTime()),
    sa.Column("runs", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("promoted_at", UtcDateTime()),
    sa.ForeignKeyConstraint(
        ["community_id", "activity_id"], ["activities.community_id", "activities.id"]
    ),
    sa.UniqueConstraint("community_id", "activity_id", "resident_id", name="uq_project_leads"),
)

# Who is expected at one occurrence of an activity (issue #19); removed entries are kept.
roster_entries = sa.Table(
    "roster_entries",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("activity_id", sa.String(40), primary_key=True),
    sa.Column("occurrence_starts_at", UtcDateTime(), primary_key=True),
    sa.Column("resident_id", sa.String(40), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("added_by", sa.String(40), nullable=False),
    sa.Column("added_at", UtcDateTime(), nullable=False),
    sa.Column("removed_at", UtcDateTime()),
    sa.ForeignKeyConstraint(
        ["community_id", "activity_id"], ["activities.community_id", "activities.id"]
    ),
)
