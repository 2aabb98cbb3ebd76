"""The identity database schema (personal data; face templates live apart, I2)."""

from __future__ import annotations

import sqlalchemy as sa

from linli_kit.db import UtcDateTime, runtime_tables

metadata = sa.MetaData()
runtime = runtime_tables(metadata)

communities = sa.Table(
    "communities",
    metadata,
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

org_units = sa.Table(
    "org_units",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("parent_id", sa.String(40), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["community_id", "parent_id"], ["org_units.community_id", "org_units.id"]
    ),
)
# Children by parent: the subtree walk joins on it; the parent foreign key's checks use it too.
sa.Index("ix_org_units_parent", org_units.c.community_id, org_units.c.parent_id)

residents = sa.Table(
    "residents",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("phone", sa.String(11), nullable=False),
    sa.Column("org_unit", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("birth_date", sa.Date(), nullable=True),
    sa.Column("household", sa.String(40), nullable=False, server_default=""),
    sa.Column("home_unit_id", sa.String(40), nullable=True),
    sa.ForeignKeyConstraint(
        ["community_id", "home_unit_id"],
        ["org_units.community_id", "org_units.id"],
        name="fk_residents_home_unit",
    ),
    sa.UniqueConstraint("community_id", "phone", name="uq_residents_phone"),
)
sa.Index("ix_residents_created", residents.c.community_id, residents.c.created_at)

resident_roles = sa.Table(
    "resident_roles",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(40), primary_key=True),
    sa.Column("role", sa.String(30), primary_key=True),
    sa.ForeignKeyConstraint(
        ["community_id", "resident_id"], ["residents.community_id", "residents.id"]
    ),
)

mentoring_pairs = sa.Table(
    "mentoring_pairs",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("mentor_id", sa.String(40), nullable=False),
    sa.Column("newcomer_id", sa.String(40), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("succeeded_at", UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(
        ["community_id", "mentor_id"], ["residents.community_id", "residents.id"]
    ),
    sa.ForeignKeyConstraint(
        ["community_id", "newcomer_id"], ["residents.community_id", "residents.id"]
    ),
)
sa.Index("ix_mentoring_mentor", mentoring_pairs.c.community_id, mentoring_pairs.c.mentor_id)
sa.Index("ix_mentoring_newcomer", mentoring_pairs.c.community_id, mentoring_pairs.c.newcomer_id)

special_teams = sa.Table(
    "special_teams",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("served_group", sa.String(20), nullable=False),
    sa.Column("lead_id", sa.String(40), nullable=False),
    sa.Column("org_unit_id", sa.String(40), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["community_id", "lead_id"], ["residents.community_id", "residents.id"]
    ),
    sa.ForeignKeyConstraint(
        ["community_id", "org_unit_id"], ["org_units.community_id", "org_units.id"]
    ),
)

special_team_services = sa.Table(
    "special_team_services",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("team_id", sa.String(40), primary_key=True),
    sa.Column("service", sa.String(20), primary_key=True),
    sa.ForeignKeyConstraint(
        ["community_id", "team_id"], ["special_teams.community_id", "special_teams.id"]
    ),
)

# Memberships are never deleted: leaving fills left_at, and joining again adds a row.
special_team_members = sa.Table(
    "special_team_members",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("team_id", sa.String(40), nullable=False),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("joined_at", UtcDateTime(), nullable=False),
    sa.Column("left_at", UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(
        ["community_id", "team_id"], ["special_teams.community_id", "special_teams.id"]
    ),
    sa.ForeignKeyConstraint(
        ["community_id", "resident_id"], ["residents.community_id", "residents.id"]
    ),
)
sa.Index(
    "ix_special_team_members_team",
    special_team_members.c.community_id,
    special_team_members.c.team_id,
)
# A resident is a current member of a team at most once; a concurrent second join fails.
sa.Index(
    "uq_special_team_members_current",
    special_team_members.c.community_id,
    special_team_members.c.team_id,
    special_team_members.c.resident_id,
    unique=True,
    postgresql_where=special_team_members.c.left_at.is_(None),
    sqlite_where=special_team_members.c.left_at.is_(None),
)

# Consent records are never deleted: a withdrawal fills withdrawn_at and withdrawn_by.
face_consents = sa.Table(
    "face_consents",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("policy_version", sa.String(40), nullable=False),
    sa.Column("retention_days", sa.Integer(), nullable=False),
    sa.Column("guardian_id", sa.String(40), nullable=True),
    sa.Column("granted_at", UtcDateTime(), nullable=False),
    sa.Column("granted_by", sa.String(200), nullable=False),
    # Derived from granted_at + retention_days, stored so the expiry sweep is one indexed query.
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
    sa.Column("withdrawn_by", sa.String(200), nullable=True),
    sa.Column("deleted_templates", sa.Integer(), nullable=False, server_default="0"),
    sa.ForeignKeyConstraint(
        ["community_id", "resident_id"], ["residents.community_id", "residents.id"]
    ),
    sa.ForeignKeyConstraint(
        ["community_id", "guardian_id"], ["residents.community_id", "residents.id"]
    ),
)
sa.Index("ix_face_consents_resident", face_consents.c.community_id, face_consents.c.resident_id)
# At most one consent per resident and purpose is open; a concurrent second grant fails.
sa.Index(
    "uq_face_consents_open",
    face_consents.c.community_id,
    face_consents.c.resident_id,
    face_consents.c.purpose,
    unique=True,
    postgresql_where=face_consents.c.withdrawn_at.is_(None),
    sqlite_where=face_consents.c.withdrawn_at.is_(None),
)
sa.Index(
    "ix_face_consents_expiry",
    face_consents.c.expires_at,
    postgresql_where=face_consents.c.withdrawn_at.is_(None),
    sqlite_where=face_consents.c.withdrawn_at.is_(None),
)

# Templates apart from personal data: only ids, the engine and the AES-GCM sealed blob.
face_templates = sa.Table(
    "face_templates",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(40), primary_key=True),
    sa.Column("consent_id", sa.String(40), nullable=False),
    sa.Column("engine", sa.String(40), nullable=False),
    sa.Column("model_version", sa.String(200), nullable=False),
    sa.Column("sealed", sa.LargeBinary(), nullable=False),
    sa.Column("enrolled_at", UtcDateTime(), nullable=False),
    # How many photos the template is the mean of (issue #19).
    sa.Column("photos", sa.SmallInteger, nullable=False, server_default="1"),
    sa.ForeignKeyConstraint(
        ["community_id", "consent_id"], ["face_consents.community_id", "face_consents.id"]
    ),
)

# A run of key rotation, advanced a batch per commit so that a retry resumes it.
key_rotations = sa.Table(
    "key_rotations",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("key_id", sa.String(100), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("re_encrypted", sa.Integer(), nullable=False),
    sa.Column("after", sa.String(40), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
)

# An accepted all-or-nothing import; its residents are rows of the residents table.
resident_imports = sa.Table(
    "resident_imports",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("imported", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

login_codes = sa.Table(
    "login_codes",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("phone", sa.String(11), nullable=False),
    # Empty when the phone matched nobody (the code was stored but not sent).
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("used_at", UtcDateTime(), nullable=True),
)
sa.Index(
    "ix_login_codes_phone",
    login_codes.c.community_id,
    login_codes.c.phone,
    login_codes.c.created_at,
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("family_id", sa.String(40), nullable=False),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("roles", sa.String(300), nullable=False),
    sa.Column("by_password", sa.Boolean(), nullable=False),
    sa.Column("key_id", sa.String(100), nullable=False),
    sa.Column("access_jti", sa.String(40), nullable=False),
    sa.Column("issued_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(
        ["community_id", "resident_id"], ["residents.community_id", "residents.id"]
    ),
)
sa.Index("ix_refresh_tokens_family", refresh_tokens.c.community_id, refresh_tokens.c.family_id)
sa.Index("ix_refresh_tokens_resident", refresh_tokens.c.community_id, refresh_tokens.c.resident_id)

staff_passwords = sa.Table(
    "staff_passwords",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(40), primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("set_at", UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(
        ["community_id", "resident_id"], ["residents.community_id", "residents.id"]
    ),
)

# The login audit; no foreign keys, so that a refusal in any community can be recorded.
auth_events = sa.Table(
    "auth_events",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("resident_id", sa.String(40), nullable=False),
    sa.Column("phone", sa.String(11), nullable=False),
    sa.Column("client", sa.String(100), nullable=False),
    sa.Column("detail", sa.String(200), nullable=False),
)
sa.Index("ix_auth_events_at", auth_events.c.community_id, auth_events.c.at)
sa.Index("ix_auth_events_phone", auth_events.c.community_id, auth_events.c.phone, auth_events.c.at)
sa.Index(
    "ix_auth_events_client", auth_events.c.community_id, auth_events.c.client, auth_events.c.at
)

# Relatives in other communities (time bank, E4): a person key, never a phone number.
resident_relatives = sa.Table(
    "resident_relatives",
    metadata,
    sa.Column("community_id", sa.String(63), primary_key=True),
    sa.Column("resident_id", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("person_key", sa.String(64), nullable=False),
    sa.Column("relation", sa.String(20), nullable=False),
    sa.Column("display_label", sa.String(50), nullable=False, server_default=""),
    sa.Column("phone_hint", sa.String(4), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("declared_by", sa.String(200), nullable=False),
    sa.Column("confirmed_at", UtcDateTime(), nullable=True),
    sa.Column("confirmed_by", sa.String(40), nullable=False, server_default=""),
    sa.Column("removed_at", UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(
        ["community_id", "resident_id"],
        ["residents.community_id", "residents.id"],
        name="fk_resident_relatives_resident",
    ),
)
sa.Index(
    "ix_resident_relatives_state",
    resident_relatives.c.community_id,
    resident_relatives.c.state,
    resident_relatives.c.created_at,
)
