"""Throwaway PostgreSQL databases and the servers' addresses, for tests and benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def postgres_admin_url() -> str:
    """The admin connection for scratch databases (LINLI_TEST_POSTGRES, else the local server)."""
    return os.environ.get("LINLI_TEST_POSTGRES", LOCAL_POSTGRES)


def redis_url() -> str:
    """The Redis for tests and benchmarks (LINLI_TEST_REDIS, else the local server)."""
    return os.environ.get("LINLI_TEST_REDIS", LOCAL_REDIS)


def create_database(admin: str, label: str) -> str:
    """Create an empty database named after the label; returns its SQLAlchemy URL."""
    name = f"linli_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(admin)
    host, port, user = info.get("host", "127.0.0.1"), info.get("port", 5432), info["user"]
    password = f":{info['password']}" if info.get("password") else ""
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{name}"


def drop_database(admin: str, url: str) -> None:
    """Drop a database create_database made, closing its connections."""
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextmanager
def scratch_database(label: str, admin: str | None = None) -> Iterator[str]:
    """A fresh database for the duration of the block (SQLAlchemy URL)."""
    admin = admin or postgres_admin_url()
    url = create_database(admin, label)
    try:
        yield url
    finally:
        drop_database(admin, url)
