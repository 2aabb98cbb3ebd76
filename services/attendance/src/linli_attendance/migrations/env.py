"""Alembic environment for the attendance database."""

from linli_kit.db import run_alembic_env

from linli_attendance.adapters.orm import metadata

run_alembic_env(metadata)
