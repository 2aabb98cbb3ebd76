"""Alembic environment for the attendance database."""

from linli_attendance.adapters.orm import metadata
from linli_kit.db import run_alembic_env

run_alembic_env(metadata)
