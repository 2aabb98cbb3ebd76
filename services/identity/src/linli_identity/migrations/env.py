"""Alembic environment for the identity database."""

from linli_identity.adapters.orm import metadata
from linli_kit.db import run_alembic_env

run_alembic_env(metadata)
