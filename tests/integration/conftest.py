"""The three services as separate OS processes on mutual TLS, shared by the cross-service flows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linli_kit.processes import start_all, stop_all
from linli_kit.testing import Credentials, Servers, Stack, secure_processes


@pytest.fixture
def stack(
    servers: Servers,
    make_database: Callable[[str], str],
    stream_prefix: str,
    credentials: Credentials,
    tmp_path: Path,
) -> Iterator[Stack]:
    """identity, attendance and points as separate OS processes on their own databases."""

    def settings_for(name: str) -> dict[str, str]:
        settings = {
            "database_url": make_database(name),
            "redis_url": servers.redis,
            "stream_prefix": stream_prefix,
        }
        if name == "points":
            # Entries left by a killed points are reclaimed quickly in the crash tests.
            settings["claim_idle_ms"] = "500"
        return settings

    processes = secure_processes(settings_for, credentials, tmp_path)
    start_all(list(processes.values()))
    running = Stack(processes, credentials)
    yield running
    running.close()
    stop_all(list(processes.values()))
