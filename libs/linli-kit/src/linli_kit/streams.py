"""Redis Streams: the outbox relay and the consumer-group consumer (at-least-once, deduplicated)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from google.protobuf.message import DecodeError
from linli.events.v1 import envelope_pb2
from opentelemetry import trace
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.orm import Session, sessionmaker

from linli_kit import metrics
from linli_kit.domain import utc_now
from linli_kit.errors import DomainError, Unavailable
from linli_kit.telemetry import context_from_traceparent

if TYPE_CHECKING:
    from linli_kit.db import SqlPlumbing

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

ENVELOPE_FIELD = b"envelope"


def _reraise_if_cancelling() -> None:
    """redis-py may swallow a cancellation or turn it into an error; a cancel must still end us."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class PoisonEvent(Exception):
    """An event no retry can apply (malformed or contradicting itself): dead-letter it at once."""


EnvelopeHandler = Callable[[envelope_pb2.EventEnvelope], Awaitable[None]]

QUEUES_IN_ORDER = "_linli_queues_in_order"


def queues_in_order(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Mark a handler that hands its work to a queue before its first pause (a writer batching
    its commits): the consumer starts the handlers of a read's consecutive marked entries
    together, in stream order, so the queue finds them all waiting."""
    setattr(handler, QUEUES_IN_ORDER, True)
    return handler


@dataclass
class OutboxRelay:
    """Moves committed outbox rows to their streams; a crash between XADD and marking repeats.

    It runs in a thread of its own (the service's worker threads stay for its calls) and
    relays at once when `wake` is set (by the unit of work that committed events, see
    `Outbox.committed`), else every `poll_seconds`.
    """

    session_factory: sessionmaker[Session]
    outbox: sa.Table
    redis_url: str
    poll_seconds: float = 0.05
    batch: int = 200
    stream_maxlen: int = 1_000_000
    retention: timedelta = timedelta(days=7)
    wake: threading.Event = field(default_factory=threading.Event)
    _redis: redis.Redis = field(init=False)

    def __post_init__(self) -> None:
        self._redis = redis.Redis.from_url(self.redis_url)

    @classmethod
    def of(cls, plumbing: SqlPlumbing, redis_url: str) -> OutboxRelay:
        """A service's relay: woken by each of its commits that staged events (every commit
        of the kit's unit of work), polling once a second only as the floor, for rows other
        processes committed."""
        outbox = plumbing.outbox
        return cls(
            plumbing.session_factory,
            outbox.table,
            redis_url,
            poll_seconds=1.0,
            wake=outbox.committed,
        )

    def relay_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published.

        The rows are marked and read in one statement and published before the commit, so a
        failed XADD marks nothing. The mark is committed without waiting for the disk: a mark
        lost in a crash only publishes its rows again, as a crash between XADD and commit does
        (consumers deduplicate).
        """
        table = self.outbox
        with self.session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(sa.text("SET LOCAL synchronous_commit = off"))
            waiting = (
                sa.select(table.c.id)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            rows = session.execute(
                sa.update(table)
                .where(table.c.id.in_(waiting.scalar_subquery()))
                .values(published_at=utc_now())
                .returning(table.c.id, table.c.stream, table.c.envelope)
            ).all()
            if not rows:
                return 0
            pipe = self._redis.pipeline(transaction=False)
            for row in sorted(rows, key=lambda r: r.id):
                pipe.xadd(
                    row.stream,
                    {ENVELOPE_FIELD: row.envelope},
                    maxlen=self.stream_maxlen,
                    approximate=True,
                )
            pipe.execute()
        return len(rows)

    def purge_published(self) -> None:
        """Forget rows published longer ago than the retention."""
        with self.session_factory() as session, session.begin():
            session.execute(
                sa.delete(self.outbox).where(
                    self.outbox.c.published_at < utc_now() - self.retention
                )
            )

    async def run(self) -> None:
        """Relay until cancelled; a failing Redis or database is retried with a pause."""
        stopping = threading.Event()
        thread = ThreadPoolExecutor(1, thread_name_prefix="outbox-relay")
        work = asyncio.get_running_loop().run_in_executor(thread, self._relay_until, stopping)
        try:
            await asyncio.shield(work)
        finally:
            stopping.set()
            self.wake.set()
            if not work.done():  # cancelled: let the batch in hand finish before we return
                await asyncio.wait([work], timeout=5)
            thread.shutdown(wait=work.done())  # join the thread, unless it is stuck

    def _relay_until(self, stopping: threading.Event) -> None:
        last_purge = float("-inf")
        while not stopping.is_set():
            try:
                published = self.relay_once()
                if time.monotonic() - last_purge > 3600:
                    self.purge_published()
                    last_purge = time.monotonic()
            except (redis.RedisError, sa.exc.SQLAlchemyError):
                log.exception("outbox relay failed; retrying")
                stopping.wait(1)
                continue
            if published < self.batch:
                # Cleared after the wait and before the next batch: a commit that sets it
                # meanwhile is seen by that batch.
                self.wake.wait(self.poll_seconds)
                self.wake.clear()


@dataclass
class StreamConsumer:
    """Reads a stream in a consumer group; XACKs after the handler commits; dead-letters poison."""

    redis_url: str
    stream: str
    group: str
    consumer: str
    handlers: dict[str, EnvelopeHandler]
    max_deliveries: int = 5
    claim_idle_ms: int = 30_000
    block_ms: int = 500
    batch: int = 64
    stats_every_seconds: float = 5.0
    # "0": a new group reads the stream's history; "$": only what arrives after it was created.
    start_id: str = "0"
    _redis: aioredis.Redis = field(init=False)

    def __post_init__(self) -> None:
        # No retries inside redis-py: a read it retried would hide that the first attempt's
        # entries may have been delivered to this consumer; run() takes them up itself.
        self._redis = aioredis.Redis.from_url(self.redis_url, retry=Retry(NoBackoff(), 0))

    @property
    def dead_letter_stream(self) -> str:
        """Where entries go after max_deliveries failed attempts."""
        return f"{self.stream}.dead"

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if missing."""
        try:
            await self._redis.xgroup_create(
                self.stream, self.group, id=self.start_id, mkstream=True
            )
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Consume until cancelled: own pending entries first, then stuck ones, then new ones."""
        await self.ensure_group()
        own_pending = True
        last_stats = last_reclaim = float("-inf")
        while True:
            _reraise_if_cancelling()
            try:
                # At start, and after Redis was lost: a read whose reply was lost with the
                # connection left its entries delivered to this consumer; take them up now,
                # not once claim_idle_ms has passed.
                if own_pending:
                    await self._process_own_pending()
                    own_pending = False
                # A quarter of the idle time between looks: an entry stuck since just after one
                # is taken over within 1.25 × claim_idle_ms, and a read costs no extra round trip.
                if time.monotonic() - last_reclaim > self.claim_idle_ms / 4000:
                    await self.reclaim_stuck()
                    last_reclaim = time.monotonic()
                if time.monotonic() - last_stats > self.stats_every_seconds:
                    await self.record_stats()
                    last_stats = time.monotonic()
                await self._process_batch(await self._read(">"))
            except redis.RedisError:
                _reraise_if_cancelling()
                log.exception("stream consumer lost Redis; retrying", extra={"stream": self.stream})
                own_pending = True
                await asyncio.sleep(1)

    async def _process_own_pending(self) -> None:
        """Process every entry delivered to this consumer and not acknowledged, oldest first
        (each once: an entry that fails again stays pending for the reclaim)."""
        after = "0"
        while entries := await self._read(after):
            await self._process_batch(entries)
            after = entries[-1][0].decode()

    async def _read(self, start: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        block = self.block_ms if start == ">" else None
        reply: Any = await self._redis.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self.batch, block=block
        )
        return [entry for _, entries in reply or [] for entry in entries]

    async def _process_batch(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        together: list[tuple[bytes, dict[bytes, bytes]]] = []
        for entry_id, fields in entries:
            if self._queues_in_order(fields):
                together.append((entry_id, fields))
                continue
            await self._process_together(together)
            together = []
            await self._process(entry_id, fields)
        await self._process_together(together)

    def _queues_in_order(self, fields: dict[bytes, bytes]) -> bool:
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(fields[ENVELOPE_FIELD])
        except (KeyError, DecodeError, TypeError):
            return False
        return getattr(self.handlers.get(envelope.type), QUEUES_IN_ORDER, False)

    async def _process_together(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Start every entry's handler at once (tasks start in the order created), then
        acknowledge those that are done with one XACK."""
        if not entries:
            return
        if len(entries) == 1:
            await self._process(*entries[0])
            return
        done = await asyncio.gather(
            *(self._apply(entry_id, fields) for entry_id, fields in entries)
        )
        acknowledged = [entry_id for (entry_id, _), ok in zip(entries, done, strict=True) if ok]
        if acknowledged:
            await self._redis.xack(self.stream, self.group, *acknowledged)

    async def reclaim_stuck(self) -> None:
        """Take over entries another consumer left unacknowledged for too long."""
        reply = await self._redis.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, "0-0", count=self.batch
        )
        claimed = reply[1]  # Redis 7 adds a third element (deleted ids); 6.2 has two
        for entry_id, fields in claimed:
            pending = await self._redis.xpending_range(
                self.stream, self.group, min=entry_id, max=entry_id, count=1
            )
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            if deliveries > self.max_deliveries:
                await self._dead_letter(entry_id, fields, f"failed {deliveries - 1} times")
            else:
                await self._process(entry_id, fields)

    async def record_stats(self) -> None:
        """Publish the group's lag and pending counts and the waiting dead letters as gauges."""
        for info in await self._redis.xinfo_groups(self.stream):
            if info["name"].decode() == self.group:
                metrics.STREAM_PENDING.labels(self.stream, self.group).set(info["pending"])
                metrics.STREAM_LAG.labels(self.stream, self.group).set(info.get("lag") or 0)
        waiting = await self._redis.xlen(self.dead_letter_stream)
        metrics.STREAM_DEAD_LETTERS_WAITING.labels(self.stream).set(waiting)

    async def _process(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> None:
        if await self._apply(entry_id, fields):
            await self._redis.xack(self.stream, self.group, entry_id)

    async def _apply(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> bool:
        """Handle one entry; whether it is to be acknowledged now (applied, or nothing to apply).
        A dead-lettered entry is acknowledged with its letter; a failed one is left pending."""
        if not fields:  # trimmed from the stream while pending: nothing left to apply
            return True
        try:
            envelope = envelope_pb2.EventEnvelope.FromString(fields[ENVELOPE_FIELD])
        except (KeyError, DecodeError):
            await self._dead_letter(entry_id, fields, "not an event envelope")
            return False
        handler = self.handlers.get(envelope.type)
        if handler is not None:
            parent = context_from_traceparent(envelope.trace_parent)
            with tracer.start_as_current_span(
                f"{self.stream} process",
                context=parent,
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "linli.community_id": envelope.community_id,
                    "linli.event_type": envelope.type,
                    "messaging.message.id": envelope.event_id,
                },
            ):
                try:
                    await handler(envelope)
                except Unavailable:
                    log.warning("a dependency is unavailable; the event will be retried")
                    return False
                except (PoisonEvent, DomainError) as exc:
                    await self._dead_letter(entry_id, fields, str(exc))
                    return False
                except Exception:
                    # Left unacknowledged: reclaimed after claim_idle_ms, dead-lettered in the end.
                    log.exception("event handler failed", extra={"event_id": envelope.event_id})
                    return False
        return True

    async def _dead_letter(self, entry_id: bytes, fields: dict[bytes, bytes], why: str) -> None:
        log.error("dead-lettering %s from %s: %s", entry_id, self.stream, why)
        letter: dict[Any, Any] = dict(fields)
        letter.update(source_id=entry_id, group=self.group.encode(), reason=why.encode())
        await self._redis.xadd(self.dead_letter_stream, letter)
        await self._redis.xack(self.stream, self.group, entry_id)
        metrics.STREAM_DEAD_LETTERS.labels(self.stream, self.group).inc()

    async def close(self) -> None:
        """Release the Redis connection."""
        await self._redis.aclose()
