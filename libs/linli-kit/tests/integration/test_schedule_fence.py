"""A fenced schedule runs on one replica at a time (PostgreSQL advisory lock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from linli_kit.schedules import Schedule, advisory_lease


def test_a_second_replica_skips_the_turn_while_the_first_runs(
    make_database: Callable[[str], str],
) -> None:
    engine = sa.create_engine(make_database("kit"), poolclass=sa.pool.NullPool)
    other = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    ran: list[str] = []

    def first_replica(now: datetime) -> None:
        second = Schedule("close", lambda now: ran.append("second"), lambda n: n, fence=other)
        assert not second.run_once()
        ran.append("first")

    noon = datetime(2025, 3, 3, 12, tzinfo=UTC)
    assert Schedule(
        "close", first_replica, lambda n: n, fence=engine, clock=lambda: noon
    ).run_once()
    assert ran == ["first"]
    with advisory_lease(other, "linli.schedule.close") as held:
        assert held  # released after the run
    engine.dispose()
    other.dispose()
