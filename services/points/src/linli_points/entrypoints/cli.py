"""`linli-points serve | migrate` and the operator commands (closes, verify, audit, rebuild,
`timebank reconcile`)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from linli_kit.principals import SYSTEM
from linli_kit.service import run_cli
from linli_kit.settings import load_settings
from linli_points.bootstrap import build_app, operations, reconcile_timebank
from linli_points.config import PointsSettings
from linli_points.domain.audit import report_csv
from linli_points.domain.timebank import Statement
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


def _statement(statement: Statement | None) -> dict[str, object] | None:
    if statement is None:
        return None
    return {
        "issuer": statement.issuer,
        "about": statement.about,
        "clearing": statement.clearing,
        "transfers": statement.transfers,
        "last_transfer_id": statement.last_transfer_id,
        "pending": statement.pending,
        "chain_seq": statement.chain_seq,
        "at": statement.at.isoformat(),
    }


def reconcile_now(settings: PointsSettings) -> int:
    """`linli-points timebank reconcile`: exchange signed statements with every peer now and
    print them and their mismatches as JSON; exit status 1 on a mismatch, 2 if a peer could not
    be compared (away, or a transfer in flight)."""
    if not settings.timebank.enabled:
        sys.stderr.write("the time bank is off here: LINLI_POINTS_TIMEBANK names no peers\n")
        return 2
    results = reconcile_timebank(settings)
    out = [
        {
            "peer": r.peer,
            "compared": r.compared,
            "mismatches": list(r.mismatches),
            "ours": _statement(r.mine),
            "theirs": _statement(r.theirs),
        }
        for r in results
    ]
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    if any(r.mismatches for r in results):
        return 1
    return 0 if all(r.compared for r in results) else 2


def main(argv: list[str] | None = None) -> None:
    """Run the points command line: serve, migrate, or one operator command."""
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["timebank", "reconcile"]:
        sys.exit(reconcile_now(load_settings(PointsSettings)))
    if args and args[0] in OPERATIONS:
        settings = load_settings(PointsSettings)
        parts = operations(settings)  # wired by bootstrap, as the app is
        try:
            run_operation(args, settings, parts.uow_factory(), parts.store)
        finally:
            parts.close()
        return
    run_cli("points", PointsSettings, build_app, MIGRATIONS, argv)
