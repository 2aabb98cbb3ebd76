"""Jobs that run on a timer beside a service: every N seconds, or at period boundaries.

Each schedule says what happens with several replicas: `fenced` jobs take a PostgreSQL
advisory lock for the run, so one replica runs them while the others skip that turn; unfenced
jobs must be harmless to run twice at once (idempotent by construction).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
import sqlalchemy as sa

from linli_kit.domain import Clock, utc_now

log = logging.getLogger(__name__)

# Failures a later turn can recover from; anything else is a bug and ends the worker.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (sa.exc.SQLAlchemyError, redis.RedisError)


@contextlib.contextmanager
def advisory_lease(engine: sa.Engine | None, name: str) -> Iterator[bool]:
    """Hold a session-level advisory lock named `name` if no other replica holds it.

    Yields whether this replica holds it; on SQLite (one process by design) and without an
    engine it always does.
    """
    if engine is None or engine.dialect.name != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with engine.connect() as connection:
        held = bool(connection.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()


@dataclass(frozen=True)
class Schedule:
    """A blocking job and when it runs; `run` is a background worker for GrpcApp."""

    name: str
    job: Callable[[datetime], object]
    next_run: Callable[[datetime], datetime]
    fence: sa.Engine | None = None
    clock: Clock = utc_now
    immediately: bool = False

    def run_once(self) -> bool:
        """Run the job now unless another replica holds its fence; True if it ran."""
        with advisory_lease(self.fence, f"linli.schedule.{self.name}") as held:
            if held:
                self.job(self.clock())
            return held

    async def run(self) -> None:
        """Run at every due time until cancelled; a transient failure waits for the next turn."""
        due = self.clock() if self.immediately else self.next_run(self.clock())
        while True:
            await asyncio.sleep(max(0.0, (due - self.clock()).total_seconds()))
            try:
                await asyncio.to_thread(self.run_once)
            except TRANSIENT_ERRORS:
                log.exception(
                    "scheduled job failed; the next turn retries", extra={"job": self.name}
                )
            due = self.next_run(self.clock())


def every(
    name: str,
    seconds: float,
    job: Callable[[datetime], object],
    *,
    fence: sa.Engine | None = None,
    clock: Clock = utc_now,
) -> Schedule:
    """A job that runs at start and then every `seconds` after each run ends."""
    return Schedule(
        name, job, lambda now: now + timedelta(seconds=seconds), fence, clock, immediately=True
    )


def at_boundaries(
    name: str,
    next_boundary: Callable[[datetime], datetime],
    job: Callable[[datetime], object],
    *,
    fence: sa.Engine | None = None,
    clock: Clock = utc_now,
    grace_seconds: float = 1.0,
) -> Schedule:
    """A job that runs just after each boundary `next_boundary(now)` returns (week, year …)."""
    return Schedule(
        name,
        job,
        lambda now: next_boundary(now) + timedelta(seconds=grace_seconds),
        fence,
        clock,
    )
