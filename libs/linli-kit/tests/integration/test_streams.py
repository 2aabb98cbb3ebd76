"""The outbox relay and the stream consumer against real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa
from linli.events.v1 import envelope_pb2, identity_events_pb2

from linli_kit import metrics
from linli_kit.bulk import BulkWrite
from linli_kit.db import Outbox, make_engine, runtime_tables
from linli_kit.domain import DomainEvent
from linli_kit.streams import (
    ENVELOPE_FIELD,
    OutboxRelay,
    PoisonEvent,
    StreamConsumer,
    queues_in_order,
)
from linli_kit.testing import running_consumer, until

TYPE = identity_events_pb2.ResidentRegistered.DESCRIPTOR.full_name


@dataclass(frozen=True, kw_only=True)
class Registered(DomainEvent):
    """A test event."""

    resident_id: str


def _encode(event: DomainEvent) -> identity_events_pb2.ResidentRegistered:
    assert isinstance(event, Registered)
    return identity_events_pb2.ResidentRegistered(
        resident=f"communities/{event.community_id}/residents/{event.resident_id}"
    )


def _envelope(event_id: str) -> bytes:
    envelope = envelope_pb2.EventEnvelope(event_id=event_id, type=TYPE, community_id="c1")
    envelope.payload.Pack(
        identity_events_pb2.ResidentRegistered(resident="communities/c1/residents/r1")
    )
    return envelope.SerializeToString()


def _consumer(servers, stream: str, handler, name: str = "live") -> StreamConsumer:
    return StreamConsumer(
        servers.redis,
        stream,
        "g",
        name,
        {TYPE: handler},
        max_deliveries=2,
        claim_idle_ms=100,
        block_ms=50,
    )


async def test_a_failing_event_is_dead_lettered_after_max_deliveries(servers, stream_prefix):
    """Two failed attempts, then the entry moves to <stream>.dead and is acknowledged."""
    stream, client = f"{stream_prefix}s", redis.Redis.from_url(servers.redis)
    attempts: list[str] = []

    async def always_fails(envelope: envelope_pb2.EventEnvelope) -> None:
        attempts.append(envelope.event_id)
        raise RuntimeError("database is on fire")

    before = metrics.STREAM_DEAD_LETTERS.labels(stream, "g")._value.get()
    consumer = _consumer(servers, stream, always_fails)
    async with running_consumer(consumer):
        client.xadd(stream, {ENVELOPE_FIELD: _envelope("e1")})
        await until(lambda: client.xlen(f"{stream}.dead") == 1)
    assert attempts == ["e1", "e1"]
    dead = client.xrange(f"{stream}.dead")[0][1]
    assert dead[b"reason"] == b"failed 2 times" and dead[ENVELOPE_FIELD] == _envelope("e1")
    assert client.xpending(stream, "g")["pending"] == 0
    assert metrics.STREAM_DEAD_LETTERS.labels(stream, "g")._value.get() == before + 1


async def test_poison_and_garbage_are_dead_lettered_at_once(servers, stream_prefix):
    """An event no retry can fix, or bytes that are no envelope, go straight to dead letters."""
    stream, client = f"{stream_prefix}s", redis.Redis.from_url(servers.redis)
    attempts: list[str] = []

    async def refuses(envelope: envelope_pb2.EventEnvelope) -> None:
        attempts.append(envelope.event_id)
        raise PoisonEvent("resident belongs to another community")

    async with running_consumer(_consumer(servers, stream, refuses)):
        client.xadd(stream, {ENVELOPE_FIELD: _envelope("e1")})
        client.xadd(stream, {ENVELOPE_FIELD: b"\xff\xfe not protobuf"})
        await until(lambda: client.xlen(f"{stream}.dead") == 2)
    reasons = [fields[b"reason"] for _, fields in client.xrange(f"{stream}.dead")]
    assert reasons == [b"resident belongs to another community", b"not an event envelope"]
    assert attempts == ["e1"]


async def test_entries_left_by_a_dead_consumer_are_reclaimed(servers, stream_prefix):
    """An entry delivered to a consumer that died is claimed by another after claim_idle_ms."""
    stream, client = f"{stream_prefix}s", redis.Redis.from_url(servers.redis)
    client.xgroup_create(stream, "g", id="0", mkstream=True)
    client.xadd(stream, {ENVELOPE_FIELD: _envelope("e1")})
    client.xreadgroup("g", "ghost", {stream: ">"})  # delivered, never acknowledged
    handled: list[str] = []

    async def records(envelope: envelope_pb2.EventEnvelope) -> None:
        handled.append(envelope.event_id)

    async with running_consumer(_consumer(servers, stream, records)):
        await until(lambda: handled == ["e1"])
        await until(lambda: client.xpending(stream, "g")["pending"] == 0)


def _blocked_reader(client: redis.Redis, name: str) -> int | None:
    """The id of the connection named so that is blocked in XREADGROUP, if there is one."""
    for connection in client.client_list():
        if connection["name"] == name and connection["cmd"] == "xreadgroup":
            return int(connection["id"])
    return None


async def test_entries_whose_reply_was_lost_with_the_connection_are_taken_up_at_once(
    servers, stream_prefix
):
    """Entries delivered to a consumer whose connection then died are processed once it is
    back (all of them, past one read's count), not after claim_idle_ms."""
    stream, client = f"{stream_prefix}s", redis.Redis.from_url(servers.redis)
    handled: list[str] = []

    async def records(envelope: envelope_pb2.EventEnvelope) -> None:
        handled.append(envelope.event_id)

    name = f"consumer-{uuid.uuid4().hex}"  # its connection, among every test's on this Redis
    consumer = StreamConsumer(
        f"{servers.redis}?client_name={name}",
        stream,
        "g",
        "live",
        {TYPE: records},
        claim_idle_ms=600_000,  # no reclaim within the test
        block_ms=50,
    )
    async with running_consumer(consumer):
        await until(lambda: _blocked_reader(client, name) is not None)
        # Delivered to the consumer's name, as a read whose reply never arrived would leave
        # them; in one transaction, so that the blocked read is not served them first.
        steal = client.pipeline(transaction=True)
        for n in range(100):
            steal.xadd(stream, {ENVELOPE_FIELD: _envelope(f"e{n}")})
        steal.xreadgroup("g", "live", {stream: ">"})
        steal.execute()
        assert client.xpending(stream, "g")["pending"] == 100
        client.client_kill_filter(_id=_blocked_reader(client, name))
        await until(lambda: len(handled) == 100, within=10)
        await until(lambda: client.xpending(stream, "g")["pending"] == 0)
    assert sorted(handled) == sorted(f"e{n}" for n in range(100))


async def test_unknown_event_types_are_acknowledged_and_skipped(servers, stream_prefix):
    """A consumer acknowledges events it has no handler for, so they never pile up."""
    stream, client = f"{stream_prefix}s", redis.Redis.from_url(servers.redis)
    other = envelope_pb2.EventEnvelope(event_id="e9", type="linli.events.v1.Other")
    async with running_consumer(_consumer(servers, stream, None)):
        client.xadd(stream, {ENVELOPE_FIELD: other.SerializeToString()})
        await until(lambda: client.xinfo_groups(stream)[0]["last-delivered-id"] != b"0-0")
        await until(lambda: client.xpending(stream, "g")["pending"] == 0)
    assert client.xlen(f"{stream}.dead") == 0


@pytest.fixture
def outbox_db(make_database):
    """A database with just the runtime tables."""
    metadata = sa.MetaData()
    tables = runtime_tables(metadata)
    engine = make_engine(make_database("kit"))
    metadata.create_all(engine)
    yield engine, tables
    engine.dispose()


def _stage(outbox: Outbox, session: sa.orm.Session, event: Registered) -> None:
    """Write one event into the outbox in the session's transaction."""
    bulk = BulkWrite(session)
    outbox.stage(bulk, [event])
    bulk.run()


def test_relay_publishes_each_committed_event_once(servers, stream_prefix, outbox_db):
    """Committed outbox rows reach the stream once; rolled-back ones never do."""
    engine, tables = outbox_db
    stream = f"{stream_prefix}identity.events"
    outbox = Outbox(tables.outbox, stream, _encode)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    factory = sa.orm.sessionmaker(engine)
    with factory() as session:
        _stage(outbox, session, Registered(community_id="c1", occurred_at=at, resident_id="r1"))
        session.commit()
    with factory() as session:
        _stage(outbox, session, Registered(community_id="c1", occurred_at=at, resident_id="r2"))
        session.rollback()
    relay = OutboxRelay(factory, tables.outbox, servers.redis)
    assert relay.relay_once() == 1
    assert relay.relay_once() == 0
    entries = redis.Redis.from_url(servers.redis).xrange(stream)
    assert len(entries) == 1
    envelope = envelope_pb2.EventEnvelope.FromString(entries[0][1][ENVELOPE_FIELD])
    payload = identity_events_pb2.ResidentRegistered()
    assert envelope.payload.Unpack(payload) and payload.resident == "communities/c1/residents/r1"
    assert envelope.type == TYPE and envelope.community_id == "c1"
    assert envelope.occurred_at.ToDatetime(tzinfo=UTC) == at


async def test_a_running_relay_publishes_a_commit_when_woken_and_stops_when_cancelled(
    servers, stream_prefix, outbox_db
):
    """The relay polls every minute here, yet a commit that sets `Outbox.committed` (its
    wake) is published at once; cancelling the relay ends its thread."""
    engine, tables = outbox_db
    stream = f"{stream_prefix}identity.events"
    outbox = Outbox(tables.outbox, stream, _encode)
    factory = sa.orm.sessionmaker(engine)
    relay = OutboxRelay(
        factory, tables.outbox, servers.redis, poll_seconds=60, wake=outbox.committed
    )
    client = redis.Redis.from_url(servers.redis)
    task = asyncio.create_task(relay.run())
    await until(lambda: any(t.name.startswith("outbox-relay") for t in threading.enumerate()))
    await asyncio.sleep(0.2)  # the relay has found nothing and waits for its poll
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with factory() as session:
        _stage(outbox, session, Registered(community_id="c1", occurred_at=at, resident_id="r1"))
        session.commit()
    outbox.committed.set()
    await until(lambda: client.xlen(stream) == 1, within=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(t.name.startswith("outbox-relay") for t in threading.enumerate())


async def test_a_reads_entries_for_a_queueing_handler_start_together_in_order(
    servers, stream_prefix
):
    """Handlers marked queues_in_order start together in stream order (each waits here for
    all of them); the applied entries are acknowledged, a failed one stays pending, a poison
    one is dead-lettered."""
    stream, client = f"{stream_prefix}s", redis.Redis.from_url(servers.redis)
    client.xgroup_create(stream, "g", id="0", mkstream=True)
    ids = [f"e{n}" for n in range(6)]
    for event_id in ids:
        client.xadd(stream, {ENVELOPE_FIELD: _envelope(event_id)})
    started: list[str] = []
    everyone = asyncio.Event()

    @queues_in_order
    async def queues(envelope: envelope_pb2.EventEnvelope) -> None:
        started.append(envelope.event_id)
        if len(started) == len(ids):
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)  # one at a time would never get here
        if envelope.event_id == "e2":
            raise RuntimeError("this one fails")
        if envelope.event_id == "e4":
            raise PoisonEvent("this one is poison")

    consumer = _consumer(servers, stream, queues)
    consumer.claim_idle_ms = 60_000  # the failed entry stays pending while we look
    async with running_consumer(consumer):
        await until(lambda: client.xlen(f"{stream}.dead") == 1)
        await until(lambda: client.xpending(stream, "g")["pending"] == 1)
    assert started == ids
    pending = client.xpending_range(stream, "g", min="-", max="+", count=10)
    assert [client.xrange(stream, p["message_id"], p["message_id"]) for p in pending] == [
        [(pending[0]["message_id"], {ENVELOPE_FIELD: _envelope("e2")})]
    ]
