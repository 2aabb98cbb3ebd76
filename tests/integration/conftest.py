"""The services as separate OS processes on mutual TLS, for the cross-service flows.

`stack` is fresh for each test (for tests that kill processes or count every row);
`shared_stack` is started once for the flows that register residents of their own;
`gateway` is the gateway in front of the shared stack, for the browser tests (Playwright's
`page` drives Debian's chromium).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from linli_kit.processes import GatewayProcess, free_port, start_all, stop_all
from linli_kit.scratch import create_database, drop_database
from linli_kit.testing import STACK_COMMUNITY, Credentials, Servers, Stack, secure_processes


@pytest.fixture
def stack(
    servers: Servers,
    make_database: Callable[[str], str],
    stream_prefix: str,
    credentials: Credentials,
    tmp_path: Path,
) -> Iterator[Stack]:
    """The services as separate OS processes on their own databases."""

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


@pytest.fixture(scope="session")
def shared_stack(
    servers: Servers, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The services once for the session, with face templates and quick sweepers."""
    prefix, created = f"test-{uuid.uuid4().hex[:10]}:", []
    folder = tmp_path_factory.mktemp("shared-stack")

    def settings_for(name: str) -> dict[str, str]:
        settings = {
            "database_url": create_database(servers.postgres, f"test_{name}"),
            "redis_url": servers.redis,
            "stream_prefix": prefix,
        }
        if name == "identity":
            key = base64.b64encode(os.urandom(32)).decode()
            keyring = {STACK_COMMUNITY: {"current": "k1", "keys": {"k1": key}}}
            settings["template_keys"] = json.dumps(keyring)
        if name == "attendance":
            settings["forgotten_sweep_seconds"] = "0.2"
        if name == "rewards":
            # The recovery job takes over a saga left half-way after 5 s (a live one can take 2 s
            # on a busy machine).
            settings.update(recovery_sweep_seconds="0.5", stall_seconds="5")
        created.append(settings["database_url"])
        return settings

    processes = secure_processes(settings_for, credentials, folder)
    start_all(list(processes.values()))
    running = Stack(processes, credentials)
    yield running
    running.close()
    stop_all(list(processes.values()))
    client = redis.Redis.from_url(servers.redis)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    for url in created:
        drop_database(servers.postgres, url)


CHROMIUM = Path(os.environ.get("LINLI_TEST_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def gateway(
    shared_stack: Stack, credentials: Credentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """The gateway in front of the shared stack, on mutual TLS as spiffe://linli/<c>/gateway."""
    folder = tmp_path_factory.mktemp("gateway")
    credentials.ca.write(folder / "pki", f"spiffe://linli/{STACK_COMMUNITY}/gateway")
    settings = {
        "community": STACK_COMMUNITY,
        "http_host": "127.0.0.1",
        "http_port": str(free_port()),
        "tls_dir": str(folder / "pki"),
        "session_secret": base64.b64encode(os.urandom(32)).decode(),
        "cookie_secure": "false",
        "log_format": "console",
        **{f"{name}_address": process.address for name, process in shared_stack.processes.items()},
    }
    process = GatewayProcess("gateway", settings, folder / "gateway.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """Playwright drives Debian's chromium (its own browser download is impossible here)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": ["--no-sandbox"]}
