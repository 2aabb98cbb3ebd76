"""Fixtures for the points unit tests, built on this folder's fakes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.grpc_server import start
from linli_kit.testing import load_beside
from linli_points.bootstrap import build_app
from linli_points.config import PointsSettings

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")

# A fixed instant for the whole-app tests: Wednesday 2026-03-04 10:00 in Asia/Shanghai.
APP_NOW = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


@pytest.fixture
def uow() -> fakes.FakePointsUnitOfWork:
    """A fresh in-memory points unit of work."""
    return fakes.FakePointsUnitOfWork()


@dataclass
class FakeApp:
    """The whole points service on fakes, started in process, and a stub to call it."""

    stub: pb_grpc.PointsServiceStub
    now: datetime
    uow: fakes.FakePointsUnitOfWork
    boards: fakes.FakeLeaderboards
    consumers: fakes.FakeConsumers


@pytest.fixture
async def points_app() -> AsyncIterator[FakeApp]:
    """The app built in one call with fakes (no database, no Redis), served on a free port."""
    uow = fakes.FakePointsUnitOfWork()
    boards = fakes.FakeLeaderboards()
    consumers = fakes.FakeConsumers()
    settings = PointsSettings(
        database_url="postgresql+psycopg://nowhere.invalid/points",
        redis_url="redis://nowhere.invalid:6379/0",
        metrics_port=0,
    )
    app = build_app(
        settings,
        uow_factory=uow,
        clock=lambda: APP_NOW,
        store=boards,
        boards=boards,
        hub=boards,
        consumers=consumers,
    )
    running = await start(app, "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield FakeApp(pb_grpc.PointsServiceStub(channel), APP_NOW, uow, boards, consumers)
    await running.stop(grace=1)
