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

residents = sa.Table(
    "residents",
    metadata,
    sa.Column("community_id", sa.String(63), sa.ForeignKey("communities.id"), primary_key=True),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("phone", sa.String(11), nullable=False),
    sa.Column("org_unit", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("community_id", "phone", name="uq_residents_phone"),
)
sa.Index("ix_residents_created", residents.c.community_id, residents.c.created_at)
