"""Alembic environment for the points database."""

from linli_kit.db import run_alembic_env
from linli_points.adapters.orm import metadata

run_alembic_env(metadata)
