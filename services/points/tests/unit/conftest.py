"""Fixtures for the points unit tests, built on this folder's fakes.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
import pytest
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.grpc_server import Transport, start
from linli_kit.testing import Credentials, load_beside
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
    """The whole points service on fakes, started in process, and stubs to call it as anyone."""

    stub: pb_grpc.PointsServiceStub  # without a token (and as the gateway over mutual TLS)
    now: datetime
    uow: fakes.FakePointsUnitOfWork
    boards: fakes.FakeLeaderboards
    consumers: fakes.FakeConsumers
    address: str
    credentials: Credentials
    mutual_tls: bool
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def _channel(self, tls: auth.TlsFiles | None, metadata: auth.Metadata = ()) -> grpc.aio.Channel:
        interceptors = [auth.with_metadata(metadata)] if metadata else None
        if tls is None:
            channel = grpc.aio.insecure_channel(self.address, interceptors=interceptors)
        else:
            channel = grpc.aio.secure_channel(
                self.address, tls.channel_credentials(), interceptors=interceptors
            )
        self.channels.append(channel)
        return channel

    def _gateway(self) -> auth.TlsFiles | None:
        return self.credentials.tls(GATEWAY_COMMUNITY, "gateway") if self.mutual_tls else None

    def person(self, community: str, resident: str, *roles: str) -> pb_grpc.PointsServiceStub:
        """A stub calling as a signed-in person (through the gateway's channel)."""
        metadata = self.credentials.person(community, resident, *roles)
        return pb_grpc.PointsServiceStub(self._channel(self._gateway(), metadata))

    def service(self, community: str, name: str) -> pb_grpc.PointsServiceStub:
        """A stub calling as a Linli service of a community (its mutual-TLS certificate)."""
        assert self.mutual_tls, "services prove themselves over mutual TLS"
        tls = self.credentials.tls(community, name)
        return pb_grpc.PointsServiceStub(self._channel(tls))


# The gateway's own certificate names a community; persons' tokens name theirs.
GATEWAY_COMMUNITY = "c-east"


@contextlib.asynccontextmanager
async def serving(credentials: Credentials, mutual_tls: bool) -> AsyncIterator[FakeApp]:
    """The app built in one call with fakes (no database, no Redis), served on a free port."""
    uow = fakes.FakePointsUnitOfWork()
    boards = fakes.FakeLeaderboards()
    consumers = fakes.FakeConsumers()
    households = fakes.FakeHouseholds()
    settings = PointsSettings(
        database_url="postgresql+psycopg://nowhere.invalid/points",
        redis_url="redis://nowhere.invalid:6379/0",
        metrics_port=0,
        leaderboard_names={"c-open": "full"},
    )
    app = build_app(
        settings,
        uow_factory=uow,
        clock=lambda: APP_NOW,
        store=boards,
        boards=boards,
        hub=boards,
        consumers=consumers,
        verifier=credentials.verifier(),
        households=households,
    )
    transport = Transport(tls=credentials.tls("c-east", "points")) if mutual_tls else Transport()
    running = await start(app, "127.0.0.1", 0, transport)
    fake = FakeApp(
        None,  # type: ignore[arg-type]  # set below, on a channel of its own
        APP_NOW,
        uow,
        boards,
        consumers,
        f"127.0.0.1:{running.port}",
        credentials,
        mutual_tls,
    )
    fake.stub = pb_grpc.PointsServiceStub(fake._channel(fake._gateway()))
    try:
        yield fake
    finally:
        for channel in fake.channels:
            await channel.close()
        await running.stop(grace=1)


@pytest.fixture
async def points_app(credentials: Credentials) -> AsyncIterator[FakeApp]:
    """The app on fakes behind mutual TLS: persons call through the gateway's certificate."""
    async with serving(credentials, mutual_tls=True) as app:
        yield app


@pytest.fixture
async def plaintext_points_app(credentials: Credentials) -> AsyncIterator[FakeApp]:
    """The app on fakes on a plaintext port, where a caller may bring no credentials at all."""
    async with serving(credentials, mutual_tls=False) as app:
        yield app
