"""`linli-partners serve | migrate`."""

from __future__ import annotations

from pathlib import Path

from linli_kit.service import run_cli
from linli_partners.bootstrap import build_app
from linli_partners.config import PartnersSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the partners service command line."""
    run_cli("partners", PartnersSettings, build_app, MIGRATIONS, argv)
