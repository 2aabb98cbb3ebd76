"""`linli-points serve | migrate` and the operator commands (closes, verify, audit, rebuild)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from linli_kit.principals import SYSTEM
from linli_kit.service import run_cli
from linli_kit.settings import load_settings
from linli_points.bootstrap import build_app, operations
from linli_points.config import PointsSettings
from linli_points.domain.audit import report_csv
from linli_points.service_layer import closes, commands, leaderboards, queries
from linli_points.service_layer.ports import LeaderboardStore, PointsUnitOfWork

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
OPERATIONS = ("close-year", "close-periods", "verify", "audit-report", "rebuild-leaderboard")


def operate(
    args: argparse.Namespace,
    settings: PointsSettings,
    uow: PointsUnitOfWork,
    store: LeaderboardStore,
) -> object:
    """Run one operator command; returns what to print (a dict, or CSV text)."""
    year = args.year or queries.current_year()
    # Each invocation is one request: a request id of its own, never replayed. The operator at
    # the console acts as the trusted in-process caller.
    request_id = uuid.uuid4().hex
    if args.command == "close-year":
        run = closes.close_year(commands.CloseYear(SYSTEM, request_id, args.community, year), uow)
        return {"expired_accounts": len(run.transaction_ids)}
    if args.command == "close-periods":
        command = commands.ClosePeriods(SYSTEM, request_id, args.community)
        run = closes.close_periods(command, uow, settings.catalog)
        return {"bonuses": len(run.transaction_ids)}
    if args.command == "verify":
        result = queries.verify_ledger(SYSTEM, args.community, uow)
        return {"ok": result.ok, "transactions": result.transactions, "breaks": result.breaks}
    if args.command == "rebuild-leaderboard":
        rebuild = commands.RebuildLeaderboard(SYSTEM, request_id, args.community, year)
        return {"residents": leaderboards.rebuild_leaderboards(rebuild, uow, store).residents}
    report = queries.audit_report(SYSTEM, args.community, year, args.quarter, uow)
    return report_csv(report) if args.format == "csv" else report


def run_operation(
    argv: list[str], settings: PointsSettings, uow: PointsUnitOfWork, store: LeaderboardStore
) -> None:
    """Parse one operator command line, run it and print its result (JSON, or CSV)."""
    parser = argparse.ArgumentParser(prog="linli-points")
    parser.add_argument("command", choices=OPERATIONS)
    parser.add_argument("--community", required=True)
    parser.add_argument("--year", type=int, default=0)
    parser.add_argument("--quarter", type=int, default=0)
    parser.add_argument("--format", choices=["json", "csv"], default="json")
    out = operate(parser.parse_args(argv), settings, uow, store)
    if isinstance(out, str):
        sys.stdout.write(out)
    else:
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Run the points command line: serve, migrate, or one operator command."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in OPERATIONS:
        settings = load_settings(PointsSettings)
        parts = operations(settings)  # wired by bootstrap, as the app is
        try:
            run_operation(args, settings, parts.uow_factory(), parts.store)
        finally:
            parts.close()
        return
    run_cli("points", PointsSettings, build_app, MIGRATIONS, argv)
