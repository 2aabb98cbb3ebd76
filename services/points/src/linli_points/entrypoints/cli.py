"""`linli-points serve | migrate` and the operator commands (closes, verify, audit, rebuild)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from linli_kit.service import run_cli
from linli_kit.settings import load_settings
from linli_points.bootstrap import build_app, uow_factory
from linli_points.config import PointsSettings
from linli_points.domain.audit import report_csv

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
OPERATIONS = ("close-year", "close-periods", "verify", "audit-report", "rebuild-leaderboard")


def _operate(argv: list[str]) -> None:
    """Run one operator command against the configured database and Redis."""
    from linli_kit.db import sql_plumbing
    from linli_points.adapters import events, orm
    from linli_points.adapters.leaderboard import RedisLeaderboardStore
    from linli_points.service_layer import handlers

    parser = argparse.ArgumentParser(prog="linli-points")
    parser.add_argument("command", choices=OPERATIONS)
    parser.add_argument("--community", required=True)
    parser.add_argument("--year", type=int, default=0)
    parser.add_argument("--quarter", type=int, default=0)
    parser.add_argument("--format", choices=["json", "csv"], default="json")
    args = parser.parse_args(argv)
    settings = load_settings(PointsSettings)
    plumbing = sql_plumbing(
        settings.database_url, orm.runtime, f"{settings.stream_prefix}points.events", events.encode
    )
    make_uow = uow_factory(plumbing)
    year = args.year or handlers.current_year()
    out: object
    if args.command == "close-year":
        posted = handlers.close_year(
            handlers.CloseYear(community_id=args.community, year=year), make_uow()
        )
        out = {"expired_accounts": len(posted)}
    elif args.command == "close-periods":
        posted = handlers.close_periods(args.community, make_uow(), settings.catalog)
        out = {"bonuses": len(posted)}
    elif args.command == "verify":
        result = handlers.verify_ledger(args.community, make_uow())
        out = {"ok": result.ok, "transactions": result.transactions, "breaks": result.breaks}
    elif args.command == "rebuild-leaderboard":
        store = RedisLeaderboardStore(settings.redis_url, settings.stream_prefix)
        out = {"residents": handlers.rebuild_leaderboards(args.community, year, make_uow(), store)}
    else:
        report = handlers.audit_report(args.community, year, args.quarter, make_uow())
        if args.format == "csv":
            sys.stdout.write(report_csv(report))
            return
        out = report
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Run the points service command line."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in OPERATIONS:
        _operate(args)
        return
    run_cli("points", PointsSettings, build_app, MIGRATIONS, argv)
