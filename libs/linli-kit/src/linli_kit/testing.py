"""Pytest fixtures for real PostgreSQL and Redis: testcontainers if Docker answers, else local."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import importlib
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import linli
import psycopg
import pytest
import redis
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions
from google.protobuf.message import Message

from linli_kit import auth
from linli_kit.pki import DevelopmentCA
from linli_kit.processes import ServiceProcess, free_port
from linli_kit.scratch import create_database, drop_database, postgres_admin_url
from linli_kit.scratch import redis_url as scratch_redis_url
from linli_kit.streams import StreamConsumer


@dataclass(frozen=True)
class Credentials:
    """A signing key and a development CA: access tokens for any person, certificates for any
    service, and the verifier that trusts the key (what identity's JWKS gives a service)."""

    key: auth.SigningKey
    ca: DevelopmentCA

    @property
    def jwks(self) -> dict[str, list[dict[str, object]]]:
        """The published keys, as identity's GetJwks answers them."""
        return {"keys": [self.key.public_jwk]}

    def verifier(self) -> auth.PublishedKeys:
        """A verifier trusting this key, as a service builds it from identity's JWKS."""
        return auth.PublishedKeys(lambda: self.jwks)

    def token(self, community: str, resident: str, *roles: str, **claims: Any) -> str:
        """An access token for the resident holding the roles (claims: ttl_seconds, now)."""
        subject = f"communities/{community}/residents/{resident}"
        return auth.issue_access_token(
            self.key, subject=subject, community=community, roles=roles, **claims
        )

    def person(self, community: str, resident: str, *roles: str) -> tuple[tuple[str, str], ...]:
        """Call metadata for the resident holding the roles."""
        return auth.bearer(self.token(community, resident, *roles))

    def tls(self, community: str, service: str) -> auth.TlsFiles:
        """A service's key, certificate (SAN spiffe://linli/<community>/<service>) and CA."""
        return self.ca.tls_files(f"spiffe://linli/{community}/{service}")

    def channel(
        self, address: str, community: str, service: str = "cli", token: str | None = None
    ) -> grpc.Channel:
        """A mutual-TLS channel presenting a certificate for `service` (and the token if any)."""
        return auth.channel(address, self.tls(community, service), token)

    def _seed(self) -> bytes:
        return self.key.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def signing_keys(self) -> str:
        """Identity's LINLI_IDENTITY_SIGNING_KEYS holding this key, so its tokens verify here."""
        keys = {self.key.kid: base64.b64encode(self._seed()).decode()}
        return json.dumps({"current": self.key.kid, "keys": keys})

    def voucher_keys(self, purpose: str) -> str:
        """A PASETO keyring setting (rewards' vouchers, partners' proofs): a key derived from this
        session's signing key and the purpose."""
        seed = hashlib.sha256(f"linli-test-{purpose}:".encode() + self._seed()).digest()
        return json.dumps({"current": "v1", "keys": {"v1": base64.b64encode(seed).decode()}})

    def secure(self, settings: dict[str, str], community: str, service: str, folder: Path) -> None:
        """Make a service process serve mutual TLS (its certificate in folder) and probes."""
        self.ca.write(folder, f"spiffe://linli/{community}/{service}")
        settings.update(tls_dir=str(folder), health_port=str(free_port()))


STACK_COMMUNITY = "xinhua"
STACK_SERVICES = ("identity", "attendance", "points", "rewards", "training", "partners")


@dataclass
class Stack:
    """Running services, and the caller's side: certificates, channels and persons' tokens."""

    processes: dict[str, ServiceProcess]
    credentials: Credentials
    community: str = STACK_COMMUNITY
    _channels: dict[tuple[str, str], grpc.Channel] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def channel(self, name: str, as_service: str = "cli") -> grpc.Channel:
        """A mutual-TLS channel to a service, presenting a certificate for `as_service`."""
        key = (name, as_service)
        if key not in self._channels:
            address = self.processes[name].address
            self._channels[key] = self.credentials.channel(address, self.community, as_service)
        return self._channels[key]

    def person(self, resident: str, *roles: str) -> auth.Metadata:
        """Call metadata for a resident (by resource name) holding the roles."""
        return self.credentials.person(self.community, resident.rpartition("/")[2], *roles)

    def bootstrap_staff(self, phone: str = "13800000001", name: str = "王社工") -> str:
        """The community and its first social worker, made by identity's operator command."""
        identity = self.processes["identity"]
        arguments = ["--community", self.community, "--display-name", "新华社区"]
        arguments += ["--phone", phone, "--name", name, "--org-unit", "community-hq"]
        return identity.run("bootstrap-community", *arguments).strip()

    def with_staff(self) -> tuple[str, auth.Metadata]:
        """The bootstrapped social worker and call metadata acting as them."""
        staff = self.bootstrap_staff()
        return staff, self.person(staff, "social_worker")

    def token(self, phone: str) -> auth.Metadata:
        """A real access token from identity (its operator command) for the resident by phone."""
        issued = self.processes["identity"].run(
            "token", "--community", self.community, "--phone", phone
        )
        return (("authorization", f"Bearer {issued.strip()}"),)

    def close(self) -> None:
        """Close the channels."""
        for channel in self._channels.values():
            channel.close()


def secure_processes(
    settings_for: Callable[[str], dict[str, str]],
    credentials: Credentials,
    folder: Path,
    community: str = STACK_COMMUNITY,
) -> dict[str, ServiceProcess]:
    """The services on mutual TLS, tokens signed by the credentials' key."""
    ports = {name: free_port() for name in STACK_SERVICES}
    processes = {}
    for name in STACK_SERVICES:
        settings = {
            "grpc_host": "127.0.0.1",
            "grpc_port": str(ports[name]),
            "metrics_port": "0",
            "log_format": "console",
            **settings_for(name),
        }
        credentials.secure(settings, community, name, folder / "pki" / name)
        if name == "identity":
            settings["signing_keys"] = credentials.signing_keys()
            settings.setdefault("face_workers", "1")  # each loads the models: one is enough here
            # The time bank's person keys (a public secret: tests only).
            settings.setdefault("dev_federation_secret", "true")
        else:
            settings["identity_address"] = f"127.0.0.1:{ports['identity']}"
        if name in ("rewards", "partners"):
            settings["points_address"] = f"127.0.0.1:{ports['points']}"
        if name == "rewards":
            settings["partners_address"] = f"127.0.0.1:{ports['partners']}"
            settings.setdefault("voucher_keys", credentials.voucher_keys("vouchers"))
        if name == "training":
            settings["attendance_address"] = f"127.0.0.1:{ports['attendance']}"
        if name == "partners":
            settings.setdefault("proof_keys", credentials.voucher_keys("proofs"))
        processes[name] = ServiceProcess(name, settings, folder / f"{name}.log")
    return processes


@pytest.fixture(scope="session")
def credentials() -> Credentials:
    """One signing key and one development CA for the whole test session."""
    return Credentials(auth.SigningKey.generate("test-key"), DevelopmentCA.create())


def load_beside(anchor: str, filename: str, module_name: str) -> ModuleType:
    """Load a test helper module by path (e.g. fakes.py beside a conftest).

    Every service keeps a tests/unit/fakes.py; with pytest's importlib mode they would collide
    under one module name, so each is loaded under a name of its own.
    """
    if module_name in sys.modules:  # the conftest and its tests share one copy
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, Path(anchor).with_name(filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Servers:
    """Where the test PostgreSQL (admin connection) and Redis are."""

    postgres: str
    redis: str


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _missing(postgres: str, redis_url: str) -> list[str]:
    missing = []
    try:
        psycopg.connect(postgres, connect_timeout=3).close()
    except psycopg.Error as exc:
        missing.append(f"PostgreSQL at {postgres} ({exc.__class__.__name__}: {exc})".strip())
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        missing.append(f"Redis at {redis_url} ({exc})")
    return missing


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """PostgreSQL and Redis for integration tests; fails loudly naming whatever is missing."""
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer
        from testcontainers.redis import RedisContainer

        with (
            PostgresContainer("postgres:16-alpine", driver=None) as pg,
            RedisContainer("redis:7-alpine") as rd,
        ):
            yield Servers(
                pg.get_connection_url(),
                f"redis://{rd.get_container_host_ip()}:{rd.get_exposed_port(6379)}/0",
            )
        return
    postgres, redis_url = postgres_admin_url(), scratch_redis_url()
    missing = _missing(postgres, redis_url)
    if missing:
        pytest.fail(
            "integration tests need PostgreSQL and Redis (no Docker engine answers, so the local "
            "servers are used; set LINLI_TEST_POSTGRES / LINLI_TEST_REDIS to point elsewhere). "
            "Unreachable: " + "; ".join(missing),
            pytrace=False,
        )
    yield Servers(postgres, redis_url)


@pytest.fixture
def make_database(servers: Servers) -> Iterator[Callable[[str], str]]:
    """A factory of fresh, empty PostgreSQL databases (SQLAlchemy URLs), dropped afterwards."""
    created: list[str] = []

    def make(service: str) -> str:
        created.append(create_database(servers.postgres, f"test_{service}"))
        return created[-1]

    yield make
    for url in created:
        drop_database(servers.postgres, url)


@pytest.fixture
def stream_prefix(servers: Servers) -> Iterator[str]:
    """A stream-name prefix private to one test; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(servers.redis)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the servers as an integration test."""
    for item in items:
        if "servers" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


def eventually(read: Callable[[], int], expected: int, within: float = 15.0) -> int:
    """Poll read() until it returns expected or the time runs out; returns the last value."""
    deadline = time.monotonic() + within
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


@contextlib.contextmanager
def statement_kinds(engine: sa.Engine) -> Iterator[list[str]]:
    """The first word of each statement the engine runs inside the block (INSERT, WITH, …)."""
    kinds: list[str] = []

    def note(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        kinds.append(statement.split()[0])

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield kinds
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def row_count(url: str, table: str) -> int:
    """How many rows a table of the database at url holds."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(count)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait, without blocking the event loop, until the condition holds; fail after `within`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_consumer(consumer: StreamConsumer) -> AsyncIterator[None]:
    """Run a stream consumer in the background for the duration of the block, then close it."""
    await consumer.ensure_group()
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.close()


def generated_services() -> list[ServiceDescriptor]:
    """Every gRPC service in the generated code (its folders are namespace packages: glob them)."""
    found = []
    for root in linli.__path__:
        for path in sorted(Path(root).glob("*/v*/*_service_pb2.py")):
            module = ".".join(("linli", *path.relative_to(root).with_suffix("").parts))
            found.extend(importlib.import_module(module).DESCRIPTOR.services_by_name.values())
    return found


def mutating_methods(service: ServiceDescriptor) -> list[MethodDescriptor]:
    """The RPCs of a service that change state: every one not declared NO_SIDE_EFFECTS."""
    return [
        m
        for m in service.methods
        if m.GetOptions().idempotency_level != MethodOptions.NO_SIDE_EFFECTS
    ]


async def assert_retry_replays(
    call: Callable[[Message], Awaitable[Message]], request: Message, changed: Message | None
) -> Message:
    """A retry with the same request id returns the first answer; other arguments are refused.

    `changed` is None for a request whose only argument is its community: request ids are kept
    per community, so the same id elsewhere is another request and cannot conflict.
    """
    assert getattr(request, "request_id", ""), "the request must carry a request_id"
    first = await call(request)
    assert await call(request) == first, "a retry did not return the first result"
    if changed is None:
        return first
    assert getattr(changed, "request_id", "") == request.request_id  # type: ignore[attr-defined]
    assert changed != request, "the changed request must differ in some argument"
    try:
        await call(changed)
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
        assert "request_id" in (error.details() or "")
    else:
        raise AssertionError("the same request_id with other arguments was accepted")
    return first
