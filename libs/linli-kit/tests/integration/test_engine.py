"""The kit's engine on real PostgreSQL: a connection idle in the pool is pinged before use."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest
import sqlalchemy as sa

from linli_kit.db import make_engine
from linli_kit.scratch import postgres_admin_url


def _kill_connections(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_admin_url(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )


def test_a_connection_killed_while_idle_is_replaced_before_use(
    make_database: Callable[[str], str],
) -> None:
    """The server dropped the pooled connection (a restart, a failover): it was idle long
    enough to be pinged, so the next unit of work gets a fresh one instead of an error."""
    url = make_database("kit")
    engine = make_engine(url, ping_after_idle=0.05)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    _kill_connections(url)
    time.sleep(0.1)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 2")).scalar_one() == 2
    engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(make_database: Callable[[str], str]) -> None:
    """Handed out again at once, a connection is not pinged: one killed meanwhile fails its
    statement (and the pool then drops it), which is what the ping saves time on."""
    url = make_database("kit")
    engine = make_engine(url, ping_after_idle=60)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    _kill_connections(url)
    with pytest.raises(sa.exc.OperationalError), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 2")).scalar_one() == 2
    engine.dispose()
