"""Alembic environment for the partners database."""

from linli_partners.adapters.orm import metadata

from linli_kit.db import run_alembic_env

run_alembic_env(metadata)
