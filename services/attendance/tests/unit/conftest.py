"""Fixtures for the attendance unit tests, built on this folder's fakes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.bootstrap import build_app
from linli_attendance.config import AttendanceSettings
from linli_kit.auth import Metadata, with_metadata
from linli_kit.grpc_server import RunningApp, start
from linli_kit.principals import Role
from linli_kit.testing import Credentials, load_beside

fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")
Connect = Callable[[Metadata], pb_grpc.AttendanceServiceStub]


@pytest.fixture
def uow() -> fakes.FakeAttendanceUnitOfWork:
    """A fresh in-memory attendance unit of work."""
    return fakes.FakeAttendanceUnitOfWork()


@pytest.fixture
def directory() -> fakes.FakeResidentDirectory:
    """Identity knows residents r-alice and r-bob and staff member r-staff in c-east."""
    return fakes.FakeResidentDirectory(
        ("c-east", "r-alice"), ("c-east", "r-bob"), ("c-east", "r-staff")
    )


@pytest.fixture
def clock() -> fakes.FixedClock:
    """A clock set to 2025-03-01 08:00 UTC."""
    return fakes.FixedClock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def faces() -> fakes.FakeFaceIdentifier:
    """Identity's face search: the first frame of a burst names the resident it finds."""
    return fakes.FakeFaceIdentifier(fakes.FaceMatch("dlib", "resnet-v1", 0.91, 0.6))


@pytest.fixture
async def server(uow, directory, faces, clock, credentials) -> AsyncIterator[RunningApp]:
    """The whole attendance app built on the fakes in one call, served on a free local port."""
    settings = AttendanceSettings(database_url="sqlite://", redis_url="redis://127.0.0.1:1/0")
    app = build_app(
        settings,
        uow_factory=lambda: uow,
        residents=directory,
        faces=faces,
        verifier=credentials.verifier(),
        clock=clock,
    )
    running = await start(app, "127.0.0.1", 0)
    yield running
    await running.stop(grace=0)


@pytest.fixture
async def connect(server: RunningApp) -> AsyncIterator[Connect]:
    """Stubs of the served app calling with the given metadata (credentials)."""
    channels: list[grpc.aio.Channel] = []

    def stub_with(metadata: Metadata) -> pb_grpc.AttendanceServiceStub:
        channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{server.port}", interceptors=[with_metadata(metadata)]
        )
        channels.append(channel)
        return pb_grpc.AttendanceServiceStub(channel)

    yield stub_with
    for channel in channels:
        await channel.close()


@pytest.fixture
def stub(connect: Connect, credentials: Credentials) -> pb_grpc.AttendanceServiceStub:
    """The served app, called by the social worker r-staff of c-east."""
    return connect(credentials.person("c-east", "r-staff", Role.SOCIAL_WORKER))
