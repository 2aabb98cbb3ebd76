"""`linli-gateway serve`: the HTTP server (uvicorn) in front of the services."""

from __future__ import annotations

import argparse

import uvicorn

from linli_gateway.bootstrap import build_app
from linli_gateway.config import GatewaySettings
from linli_gateway.entrypoints.metrics import trace_grpc_calls
from linli_kit.logs import configure_logging
from linli_kit.metrics import serve_metrics
from linli_kit.settings import load_settings
from linli_kit.telemetry import configure_telemetry


def main(argv: list[str] | None = None) -> None:
    """Validate the settings, then serve HTTP until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="linli-gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the web pages and the JSON API")
    parser.parse_args(argv)
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level, settings.log_format)
    configure_telemetry("linli-gateway")
    trace_grpc_calls()
    serve_metrics(settings.metrics_port)
    app = build_app(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )
