"""Alembic environment for the training database."""

from linli_kit.db import run_alembic_env
from linli_training.adapters.orm import metadata

run_alembic_env(metadata)
