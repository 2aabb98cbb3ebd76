"""`linli-rewards serve | migrate`."""

from __future__ import annotations

from pathlib import Path

from linli_kit.service import run_cli
from linli_rewards.bootstrap import build_app
from linli_rewards.config import RewardsSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the rewards service command line."""
    run_cli("rewards", RewardsSettings, build_app, MIGRATIONS, argv)
