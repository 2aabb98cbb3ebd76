"""Alembic environment for the rewards database."""

from linli_kit.db import run_alembic_env
from linli_rewards.adapters.orm import metadata

run_alembic_env(metadata)
