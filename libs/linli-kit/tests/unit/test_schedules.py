"""Schedules: when jobs run, what a failure does, and the fence on one replica."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from linli_kit.schedules import Schedule, advisory_lease, at_boundaries, every

NOON = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def test_every_runs_at_start_then_after_each_interval() -> None:
    schedule = every("sweep", 5, lambda now: None, clock=lambda: NOON)
    assert schedule.immediately
    assert schedule.next_run(NOON) == NOON + timedelta(seconds=5)


def test_at_boundaries_runs_just_after_each_boundary() -> None:
    schedule = at_boundaries(
        "close", lambda now: now.replace(hour=0) + timedelta(days=1), lambda now: None
    )
    assert not schedule.immediately
    assert schedule.next_run(NOON) == datetime(2025, 3, 4, 0, 0, 1, tzinfo=UTC)


async def test_a_transient_failure_waits_for_the_next_turn_and_a_bug_ends_the_worker() -> None:
    calls: list[datetime] = []

    def job(now: datetime) -> None:
        calls.append(now)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("database went away"))
        if len(calls) == 2:
            raise RuntimeError("a bug")

    schedule = every("flaky", 0.01, job)
    with pytest.raises(RuntimeError, match="a bug"):
        await asyncio.wait_for(schedule.run(), timeout=5)
    assert len(calls) == 2


def test_without_postgres_the_lease_is_always_held() -> None:
    with advisory_lease(None, "x") as held:
        assert held
    engine = sa.create_engine("sqlite://")
    ran: list[datetime] = []
    assert Schedule("job", ran.append, lambda now: now, fence=engine, clock=lambda: NOON).run_once()
    assert ran == [NOON]
