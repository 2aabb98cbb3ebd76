"""`linli-identity serve | migrate`."""

from __future__ import annotations

from pathlib import Path

from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_kit.service import run_cli

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the identity service command line."""
    run_cli("identity", IdentitySettings, build_app, MIGRATIONS, argv)
