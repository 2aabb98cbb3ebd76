"""The gateway app in-process, its services' addresses pointing nowhere (nothing is called)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from linli_gateway.bootstrap import build_app
from linli_gateway.config import GatewaySettings


@pytest.fixture
def settings() -> GatewaySettings:
    """Settings of a gateway whose services are on a port nothing listens on."""
    nowhere = {f"{name}_address": "127.0.0.1:9" for name in ("identity", "points", "rewards")}
    return GatewaySettings(
        community="demo", session_secret="s" * 32, cookie_secure=False, **nowhere
    )


@pytest.fixture
def client(settings: GatewaySettings) -> Iterator[TestClient]:
    """A browser-like client of the app (it keeps cookies)."""
    with TestClient(build_app(settings), base_url="http://127.0.0.1") as client:
        yield client
