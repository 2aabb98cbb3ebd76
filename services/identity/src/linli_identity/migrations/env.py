"""Alembic environment for the identity database."""

from linli_kit.db import run_alembic_env

from linli_identity.adapters.orm import metadata

run_alembic_env(metadata)
