"""`linli-points serve | migrate`."""

from __future__ import annotations

from pathlib import Path

from linli_kit.service import run_cli
from linli_points.bootstrap import build_app
from linli_points.config import PointsSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the points service command line."""
    run_cli("points", PointsSettings, build_app, MIGRATIONS, argv)
