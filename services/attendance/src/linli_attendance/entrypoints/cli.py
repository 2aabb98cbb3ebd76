"""`linli-attendance serve | migrate`."""

from __future__ import annotations

from pathlib import Path

from linli_attendance.bootstrap import build_app
from linli_attendance.config import AttendanceSettings
from linli_kit.service import run_cli

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    """Run the attendance service command line."""
    run_cli("attendance", AttendanceSettings, build_app, MIGRATIONS, argv)
