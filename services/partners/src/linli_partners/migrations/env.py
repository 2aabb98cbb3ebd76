"""Alembic environment for the partners database."""

from linli_kit.db import run_alembic_env
from linli_partners.adapters.orm import metadata

run_alembic_env(metadata)
