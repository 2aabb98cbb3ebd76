"""Fixtures for the identity unit tests, built on this folder's fakes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from argon2 import PasswordHasher as Argon2Hasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters.gallery import Galleries
from linli_identity.adapters.login_adapters import Argon2PasswordHasher
from linli_identity.adapters.signing import SigningKeyring
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.grpc_api import LIMITS
from linli_identity.service_layer.login_port import LoginPorts
from linli_kit import auth, ratelimits
from linli_kit.auth import with_metadata
from linli_kit.grpc_server import start
from linli_kit.testing import Credentials, load_beside

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


class ManualClock:
    """A clock at the real time when made (tokens then verify), moved only by `advance`."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. advance(minutes=5)."""
        self.now += timedelta(**delta)


SEEDS = {"k1": bytes(range(32)), "k2": bytes(range(32, 64))}


@pytest.fixture
def login_clock() -> ManualClock:
    """The clock the login use cases read."""
    return ManualClock()


@pytest.fixture
def login(login_clock) -> LoginPorts:
    """Login ports: a recording SMS sender, cheap argon2id, a keyring with current key k1."""
    return LoginPorts(
        fakes.FakeSms(),
        Argon2PasswordHasher(Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1)),
        SigningKeyring(SEEDS, "k1"),
        login_clock,
    )


# The operator the default stub calls as: an sre and social worker of c-east who is nobody's
# resident record, so every rule lets them seed what a test needs.
OPERATOR = ("c-east", "operator", "sre", "social_worker")


@pytest.fixture
def tokens(credentials) -> Credentials:
    """Access tokens signed with the login keyring's current key (k1), as identity issues them."""
    key = auth.SigningKey("k1", Ed25519PrivateKey.from_private_bytes(SEEDS["k1"]))
    return Credentials(key, credentials.ca)


@pytest.fixture
def limits() -> ratelimits.Limits:
    """The per-caller call limits the app is built with (a test may ask for none)."""
    return LIMITS


@dataclass
class RunningIdentity:
    """The whole identity app on fakes, served on a free port, and a stub that calls it.

    `stub` calls as the operator; `as_person(...)` and `as_service(...)` give stubs that
    call as someone else.
    """

    stub: pb_grpc.IdentityServiceStub
    uow: fakes.FakeIdentityUnitOfWork
    engine: fakes.FakeFaceEngine
    galleries: Galleries
    streams: fakes.FakeStreams
    login: LoginPorts
    tokens: Credentials
    address: str
    channels: list[grpc.aio.Channel]

    def as_person(self, community: str, resident: str, *roles: str) -> pb_grpc.IdentityServiceStub:
        """A stub calling with an access token of the resident holding the roles."""
        return self._stub([with_metadata(self.tokens.person(community, resident, *roles))])

    def as_anonymous(self) -> pb_grpc.IdentityServiceStub:
        """A stub calling without credentials."""
        return self._stub([])

    def with_token(self, token: str) -> pb_grpc.IdentityServiceStub:
        """A stub calling with this bearer token."""
        return self._stub([with_metadata(auth.bearer(token))])

    def _stub(self, interceptors: list) -> pb_grpc.IdentityServiceStub:
        channel = grpc.aio.insecure_channel(self.address, interceptors=interceptors)
        self.channels.append(channel)
        return pb_grpc.IdentityServiceStub(channel)


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
async def identity(uow, clock, app_parts, login, tokens, limits) -> AsyncIterator[RunningIdentity]:
    """build_app in one call with fakes (no database, no Redis), started in-process."""
    engine, galleries, streams = app_parts
    settings = IdentitySettings(
        database_url="postgresql://nowhere/none",
        redis_url="redis://nowhere",
        face_thresholds=fakes.FAKE_THRESHOLDS,
        dev_federation_secret=True,
    )
    app = build_app(
        settings,
        uow_factory=lambda: uow,
        clock=clock,
        engine=engine,
        galleries=galleries,
        streams=streams,
        login=login,
        limits=limits,
    )
    running = await start(app, "127.0.0.1", 0)
    address = f"127.0.0.1:{running.port}"
    running_identity = RunningIdentity(
        None, uow, engine, galleries, streams, login, tokens, address, []
    )  # type: ignore[arg-type]
    running_identity.stub = running_identity.as_person(*OPERATOR)
    yield running_identity
    for channel in running_identity.channels:
        await channel.close()
    await running.stop(grace=0)
