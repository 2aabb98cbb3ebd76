"""Fixtures for the identity unit tests, built on this folder's fakes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters.gallery import Galleries
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_kit.grpc_server import start
from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_identity_unit_fakes")


@pytest.fixture
def uow() -> fakes.FakeIdentityUnitOfWork:
    """A fresh in-memory identity unit of work."""
    return fakes.FakeIdentityUnitOfWork()


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """A clock that starts at 2025-03-01 09:00 UTC and moves one minute per reading."""
    readings = iter(
        datetime(2025, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=i) for i in range(10_000)
    )
    return lambda: next(readings)


@dataclass
class RunningIdentity:
    """The whole identity app on fakes, served on a free port, and a stub that calls it."""

    stub: pb_grpc.IdentityServiceStub
    uow: fakes.FakeIdentityUnitOfWork
    engine: fakes.FakeFaceEngine
    galleries: Galleries
    streams: fakes.FakeStreams


@pytest.fixture
def app_parts(uow) -> tuple[fakes.FakeFaceEngine, Galleries, fakes.FakeStreams]:
    """The fake engine, real in-memory galleries and fake streams the app is built with."""
    engine = fakes.FakeFaceEngine()
    return (
        engine,
        Galleries(engine.name, engine.model_version, engine.dimension),
        fakes.FakeStreams(),
    )


@pytest.fixture
async def identity(uow, clock, app_parts) -> AsyncIterator[RunningIdentity]:
    """build_app in one call with fakes (no database, no Redis), started in-process."""
    engine, galleries, streams = app_parts
    settings = IdentitySettings(
        database_url="postgresql://nowhere/none", redis_url="redis://nowhere"
    )
    app = build_app(
        settings,
        uow_factory=lambda: uow,
        clock=clock,
        engine=engine,
        galleries=galleries,
        streams=streams,
    )
    running = await start(app, "127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield RunningIdentity(pb_grpc.IdentityServiceStub(channel), uow, engine, galleries, streams)
    await running.stop(grace=0)
