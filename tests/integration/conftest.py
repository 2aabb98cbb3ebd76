"""The three services as separate OS processes, shared by the cross-service flows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linli_kit.processes import ServiceProcess, free_port, start_all, stop_all
from linli_kit.testing import Servers


@pytest.fixture
def stack(
    servers: Servers, make_database: Callable[[str], str], stream_prefix: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """identity, attendance and points as separate OS processes on their own databases."""
    ports = {name: free_port() for name in ("identity", "attendance", "points")}
    processes = {}
    for name, port in ports.items():
        settings = {
            "database_url": make_database(name),
            "redis_url": servers.redis,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(port),
            "metrics_port": "0",
            "stream_prefix": stream_prefix,
            "log_format": "console",
        }
        if name == "attendance":
            settings["identity_address"] = f"127.0.0.1:{ports['identity']}"
        if name == "points":
            # Entries left by a killed points are reclaimed quickly in the crash tests.
            settings["claim_idle_ms"] = "500"
        processes[name] = ServiceProcess(name, settings, tmp_path / f"{name}.log")
    start_all(list(processes.values()))
    yield processes
    stop_all(list(processes.values()))
