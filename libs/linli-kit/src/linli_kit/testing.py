"""Pytest fixtures for real PostgreSQL and Redis: testcontainers if Docker answers, else local."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
import redis

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


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
    postgres = os.environ.get("LINLI_TEST_POSTGRES", LOCAL_POSTGRES)
    redis_url = os.environ.get("LINLI_TEST_REDIS", LOCAL_REDIS)
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
        name = f"linli_test_{service}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(servers.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        info = psycopg.conninfo.conninfo_to_dict(servers.postgres)
        host, port, user = info.get("host", "127.0.0.1"), info.get("port", 5432), info["user"]
        password = f":{info['password']}" if info.get("password") else ""
        return f"postgresql+psycopg://{user}{password}@{host}:{port}/{name}"

    yield make
    with psycopg.connect(servers.postgres, autocommit=True) as admin:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
