"""The Alembic migrations build exactly the schema the code declares, on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from linli_identity.adapters.orm import metadata
from linli_identity.entrypoints.cli import MIGRATIONS
from linli_kit.db import make_engine, migrate


def differences(url: str) -> list[object]:
    migrate(url, MIGRATIONS)
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), metadata))
    finally:
        engine.dispose()


def test_postgresql_schema_matches_the_code(make_database) -> None:
    assert differences(make_database("identity")) == []


def test_sqlite_schema_matches_the_code(tmp_path: Path) -> None:
    assert differences(f"sqlite:///{tmp_path / 'identity.db'}") == []
