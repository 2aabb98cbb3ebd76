"""`linli-training serve | migrate | dead-letters …`."""

from __future__ import annotations

from pathlib import Path

from linli_kit.service import run_cli
from linli_training.bootstrap import build_app
from linli_training.config import TrainingSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the training service command line."""
    run_cli("training", TrainingSettings, build_app, MIGRATIONS, argv)
