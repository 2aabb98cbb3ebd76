"""The command line every service shares: `linli-<svc> serve` and `linli-<svc> migrate`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from linli_kit.db import migrate
from linli_kit.grpc_server import GrpcApp, serve_until_signalled
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
    """Parse the command, validate settings, then serve or migrate."""
    parser = argparse.ArgumentParser(prog=f"linli-{name}")
    parser.add_argument("command", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    settings = load_settings(settings_cls)
    configure_logging(name, settings.log_level, settings.log_format)
    if args.command == "migrate":
        migrate(settings.database_url, migrations)
        return
    configure_telemetry(f"linli-{name}")
    serve_metrics(settings.metrics_port)
    asyncio.run(serve_until_signalled(build_app(settings), settings.grpc_host, settings.grpc_port))
