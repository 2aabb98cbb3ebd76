"""The training database schema."""

from __future__ import annotations

import sqlalchemy as sa

from linli_kit.db import UtcDateTime, runtime_tables

metadata = sa.MetaData()
runtime = runtime_tables(metadata)

courses = sa.Table(
    "courses",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("credits", sa.Integer, nullable=False),
    sa.Column("completion_percent", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint("minutes > 0", name="ck_courses_minutes_positive"),
)

teachers = sa.Table(
    "teachers",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False, server_default=""),
    # [course id, ...] and [certificate, ...]: at most 50 and 20.
    sa.Column("qualified_courses", sa.JSON, nullable=False),
    sa.Column("certificates", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

course_sessions = sa.Table(
    "course_sessions",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("course_id", sa.String(40), nullable=False),
    sa.Column("teacher_id", sa.String(32), nullable=False),
    sa.Column("place", sa.String(200), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("starts_at", UtcDateTime(), nullable=False),
    sa.Column("ends_at", UtcDateTime(), nullable=False),
    # The attendance activity volunteers sign in to; one session per activity.
    sa.Column("activity_id", sa.String(63), nullable=False),
    sa.Column("kiosk_ids", sa.JSON, nullable=False),
    sa.Column("taught_minutes", sa.Integer),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("cancelled_at", UtcDateTime()),
    sa.Column("cancel_reason", sa.String(500), nullable=False, server_default=""),
    sa.UniqueConstraint("community_id", "activity_id", name="uq_course_sessions_activity"),
)
sa.Index("ix_course_sessions_start", course_sessions.c.community_id, course_sessions.c.starts_at)

enrolments = sa.Table(
    "enrolments",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(63), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("enrolled_at", UtcDateTime(), nullable=False),
)

# One row per resident: the row every change of their record locks first.
trainees = sa.Table(
    "trainees",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(63), primary_key=True),
    sa.Column("core_volunteer", sa.Boolean, nullable=False, server_default=sa.false()),
    # [level id, ...] in the order reached.
    sa.Column("level_ids", sa.JSON, nullable=False),
)

# Every attendance session credited, once: its name is the key. A correction in attendance
# sets its seconds anew; the latest correction's time keeps an older one from undoing it.
attendances = sa.Table(
    "attendances",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("session", sa.String(200), primary_key=True),
    sa.Column("resident_id", sa.String(63), nullable=False),
    sa.Column("course_session_id", sa.String(32), nullable=False),
    sa.Column("course_id", sa.String(40), nullable=False),
    sa.Column("seconds", sa.Integer, nullable=False),
    sa.Column("credited_at", UtcDateTime(), nullable=False),
    sa.Column("corrected_at", UtcDateTime()),
)
sa.Index("ix_attendances_resident", attendances.c.community_id, attendances.c.resident_id)

completions = sa.Table(
    "completions",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(63), primary_key=True),
    sa.Column("course_id", sa.String(40), primary_key=True),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("credits", sa.Integer, nullable=False),
    sa.Column("completed_at", UtcDateTime(), nullable=False),
)

levels = sa.Table(
    "levels",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("credits_needed", sa.Integer, nullable=False),
    sa.Column("tiers", sa.JSON, nullable=False),
    sa.Column("allowance_fen", sa.BigInteger, nullable=False),
)

allowances = sa.Table(
    "allowances",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(63), nullable=False),
    sa.Column("level_id", sa.String(40), nullable=False),
    sa.Column("level_title", sa.String(100), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("entitled_at", UtcDateTime(), nullable=False),
    sa.Column("paid_by", sa.String(63), nullable=False, server_default=""),
    sa.Column("paid_at", UtcDateTime()),
)
sa.Index("ix_allowances_entitled", allowances.c.community_id, allowances.c.entitled_at)

assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("resident_id", sa.String(63), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    # '' for a declined year.
    sa.Column("instrument_id", sa.String(20), nullable=False),
    sa.Column("declined", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("band", sa.String(20), nullable=False),
    sa.Column("advice_zh", sa.Text, nullable=False),
    sa.Column("advice_en", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.String(63), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # One result per instrument and year, one decline per year, even for two requests at once.
    sa.UniqueConstraint(
        "community_id", "resident_id", "year", "instrument_id", name="uq_assessments_year"
    ),
)
