"""A running service exports every metric the dashboards and alerts query (issue 6)."""

from __future__ import annotations

import urllib.request

from metric_refs import referenced_metric_names

from linli_kit.processes import ServiceProcess, free_port


def exported_names(text: str) -> set[str]:
    """Metric names a Prometheus text page offers, as PromQL would name them."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            counter_without_suffix = kind == "counter" and not name.endswith("_total")
            names.add(f"{name}_total" if counter_without_suffix else name)
    return names


def test_points_service_exports_every_metric_the_chart_uses(servers, make_database, tmp_path):
    """Scrape /metrics of a real points process and compare with the chart's queries."""
    port = free_port()
    points = ServiceProcess(
        "points",
        {
            "database_url": make_database("points"),
            "redis_url": servers.redis,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(free_port()),
            "metrics_port": str(port),
        },
        tmp_path / "points.log",
    )
    points.migrate()
    points.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            page = reply.read().decode()
    finally:
        points.stop()
    exported = exported_names(page)
    assert "linli_rpc_duration_seconds" in exported
    missing = referenced_metric_names() - exported
    assert not missing, f"dashboards or alerts query metrics no service exports: {missing}"
