"""Running services export every metric the dashboards and alerts query (issue 6), gateway too."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from metric_refs import referenced_metric_names

from linli_kit.processes import GatewayProcess, ServiceProcess, free_port, start_all, stop_all


def exported_names(text: str) -> set[str]:
    """Metric names a Prometheus text page offers, as PromQL would name them."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            counter_without_suffix = kind == "counter" and not name.endswith("_total")
            names.add(f"{name}_total" if counter_without_suffix else name)
    return names


def spans(log: str) -> list[dict[str, Any]]:
    """The spans OTEL_TRACES_EXPORTER=console wrote into a process's log (JSON, one per span)."""
    found, decoder, at = [], json.JSONDecoder(), 0
    while (at := log.find('{\n    "name"', at)) >= 0:
        span, at = decoder.raw_decode(log, at)
        found.append(span)
    return found


def trace_of(log_path: Path, name: str) -> str:
    """The trace id of the first span of that name in the log, waiting for the export."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for span in spans(log_path.read_text(encoding="utf-8", errors="replace")):
            if span["name"] == name:
                return str(span["context"]["trace_id"])
        time.sleep(0.2)
    raise AssertionError(f"no span {name!r} in {log_path}")


def test_points_and_gateway_export_every_metric_the_chart_uses(
    servers, make_database, tmp_path, monkeypatch
):
    """Scrape /metrics of real points and gateway processes and compare with the chart's queries.

    The gateway's requests are counted by route template, and its trace reaches points.
    """
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    points = ServiceProcess(
        "points",
        {
            "database_url": make_database("points"),
            "redis_url": servers.redis,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(free_port()),
            "metrics_port": str(points_metrics := free_port()),
            "log_format": "console",
        },
        tmp_path / "points.log",
    )
    metrics_port = free_port()
    gateway = GatewayProcess(
        "gateway",
        {
            "community": "c-metrics",
            "http_host": "127.0.0.1",
            "http_port": str(free_port()),
            "metrics_port": str(metrics_port),
            "session_secret": "s" * 32,
            "cookie_secure": "false",
            "log_format": "console",
            "points_address": points.address,
        },
        tmp_path / "gateway.log",
    )
    points.migrate()
    start_all([points, gateway])
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{points_metrics}/metrics", timeout=5) as r:
            points_page = r.read().decode()
        for path in ("/", "/me/vouchers/r-1", "/me/vouchers/r-2", "/no/such/page"):
            # urllib follows the 303 to the login page; the 404 raises
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"{gateway.url}{path}", timeout=10).close()
        with urllib.request.urlopen(f"{gateway.url}/api/v1/leaderboard", timeout=10) as reply:
            assert reply.status == 200  # one GetLeaderboard call to points
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            page = r.read().decode()
        gateway_trace = trace_of(gateway.log_path, "GET /api/v1/leaderboard")
        points_trace = trace_of(points.log_path, "/linli.points.v1.PointsService/GetLeaderboard")
    finally:
        stop_all([gateway, points])
    exported = exported_names(points_page)
    assert "linli_rpc_duration_seconds" in exported
    missing = referenced_metric_names() - exported
    assert not missing, f"dashboards or alerts query metrics no service exports: {missing}"
    queried = {n for n in referenced_metric_names() if n.startswith("linli_gateway_")}
    assert queried, "the dashboards query no gateway metric"
    assert queried <= exported_names(page)
    samples = {line.rsplit(" ", 1)[0] for line in page.splitlines() if not line.startswith("#")}
    template = 'route="/me/vouchers/{redemption_id}"'
    assert f'linli_gateway_http_requests_total{{method="GET",{template},status="303"}}' in samples
    assert 'linli_gateway_http_requests_total{method="GET",route="none",status="404"}' in samples
    assert 'route="/api/v1/leaderboard"' in page
    assert "r-1" not in page and "/no/such" not in page, "a raw path became a label"
    assert gateway_trace == points_trace, "the gateway's trace did not reach points"
