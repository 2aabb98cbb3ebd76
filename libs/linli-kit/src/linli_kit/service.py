"""The command line every service shares: `linli-<svc> serve | migrate | dead-letters …`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from linli_kit.db import migrate
from linli_kit.deadletters import DeadLetters
from linli_kit.errors import DomainError
from linli_kit.grpc_server import Capacity, GrpcApp, Transport, serve_until_signalled
from linli_kit.logs import configure_logging
from linli_kit.metrics import serve_metrics
from linli_kit.settings import ServiceSettings, load_settings
from linli_kit.telemetry import configure_telemetry

S = TypeVar("S", bound=ServiceSettings)


def run_cli(
    name: str,
    settings_cls: type[S],
    build_app: Callable[[S], GrpcApp],
    migrations: Path,
    argv: list[str] | None = None,
) -> None:
    """Parse the command, validate settings, then serve, migrate or act on dead letters."""
    parser = argparse.ArgumentParser(prog=f"linli-{name}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve gRPC and run the background workers")
    commands.add_parser("migrate", help="bring the database to the newest revision")
    letters = commands.add_parser("dead-letters", help="list, replay or discard dead letters")
    letters.add_argument("action", choices=["list", "replay", "discard"])
    letters.add_argument("--stream", required=True, help="a consumed stream, e.g. points.events")
    letters.add_argument("--id", default="", help="the letter (replay, discard)")
    letters.add_argument("--actor", default="", help="who acts (replay, discard)")
    letters.add_argument("--reason", default="", help="why it is discarded")
    letters.add_argument("--count", type=int, default=50)
    args = parser.parse_args(argv)
    settings = load_settings(settings_cls)
    configure_logging(name, settings.log_level, settings.log_format)
    if args.command == "migrate":
        migrate(settings.database_url, migrations)
        return
    if args.command == "dead-letters":
        _dead_letters(settings, args)
        return
    configure_telemetry(f"linli-{name}")
    serve_metrics(settings.metrics_port)
    transport = Transport.from_settings(settings)
    app = build_app(settings)
    capacity = Capacity.from_settings(settings)
    asyncio.run(
        serve_until_signalled(app, settings.grpc_host, settings.grpc_port, transport, capacity)
    )


def _dead_letters(settings: ServiceSettings, args: argparse.Namespace) -> None:
    """Print the letters of a stream as JSON lines, or replay or discard one."""
    letters = DeadLetters(settings.redis_url, settings.stream_prefix, [args.stream])
    try:
        if args.action == "list":
            found = letters.list(args.stream, args.count)
        elif args.action == "replay":
            found = [letters.replay(args.stream, args.id, args.actor)]
        else:
            found = [letters.discard(args.stream, args.id, args.actor, args.reason)]
    except DomainError as exc:
        raise SystemExit(f"dead-letters {args.action}: {exc}") from None
    finally:
        letters.close()
    for letter in found:
        sys.stdout.write(json.dumps(dataclasses.asdict(letter), default=str, ensure_ascii=False))
        sys.stdout.write("\n")
