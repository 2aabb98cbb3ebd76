"""Group commit on real PostgreSQL: batches, two replicas on one chain, a crash mid-batch."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2, envelope_pb2

from linli_kit.db import SqlPlumbing, migrate, sql_plumbing
from linli_kit.errors import FailedPrecondition
from linli_kit.principals import SYSTEM
from linli_kit.processes import ServiceProcess, free_port
from linli_kit.streams import ENVELOPE_FIELD
from linli_kit.testing import eventually
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory
from linli_points.domain.ledger import InsufficientPoints, RuleKind
from linli_points.domain.reservations import Sink
from linli_points.domain.rules import DEFAULT_RULES, RuleBook, RuleCatalog, ServiceType
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import commands, earning, queries, reservations
from linli_points.service_layer.ports import PointsUnitOfWork
from linli_points.service_layer.writer import CommunityWriter

C = "c-east"
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def database(make_database: Callable[[str], str]) -> str:
    """A migrated, empty points database."""
    url = make_database("points")
    migrate(url, MIGRATIONS)
    return url


@pytest.fixture
def replicas(database: str) -> Iterator[list[SqlPlumbing]]:
    """Two replicas' database plumbing (own engines, own account caches) on one database."""
    made = [sql_plumbing(database, orm.runtime, "test-points.events", events.encode) for _ in "ab"]
    yield made
    for plumbing in made:
        plumbing.engine.dispose()


def award(event_id: str, resident: str, hours: int = 1):
    """Work that awards regular hours for one event."""
    cmd = commands.AwardForSession(
        event_id=event_id,
        community_id=C,
        resident_id=resident,
        session=f"communities/{C}/activities/a/sessions/{event_id}",
        service_type=ServiceType.REGULAR,
        duration_seconds=hours * 3600,
        signed_in_at=AT,
    )
    return lambda uow: earning.award_for_session(cmd, uow)


def reserve(request_id: str, resident: str, amount: int):
    """Work that reserves a resident's points."""
    cmd = commands.Reserve(SYSTEM, request_id, C, resident, amount, Sink.REWARDS, "voucher", 600)
    return lambda uow: reservations.reserve(cmd, uow)


def an_overdraft_fails_alone(make_uow: Callable[[], PointsUnitOfWork]) -> None:
    """A batch with an overdraft, a repeated event and spending of what it earned; then a
    batch holding an event committed before and a new one."""
    writer = CommunityWriter(make_uow)
    gate = threading.Event()
    writer.submit(C, lambda _: gate.wait(5))
    answers = [
        writer.submit(C, award("e1", "r-alice", hours=3)),
        writer.submit(C, reserve("x1", "r-bob", 100)),
        writer.submit(C, award("e1", "r-alice", hours=3)),
        writer.submit(C, reserve("x2", "r-alice", 250)),
        writer.submit(C, award("e2", "r-carol", hours=2)),
    ]
    gate.set()

    assert answers[0].result(10).earned == 300
    with pytest.raises(InsufficientPoints):
        answers[1].result(10)
    assert answers[2].result(10) is None  # the same event again, in the same batch
    assert answers[3].result(10).amount == 250
    assert answers[4].result(10).earned == 200
    assert (writer.batches, writer.items) == (2, 6)
    gate.clear()
    writer.submit(C, lambda _: gate.wait(5))
    again = [
        writer.submit(C, award(e, r, hours=h))
        for e, r, h in [("e2", "r-carol", 2), ("e3", "r-bob", 1)]
    ]
    gate.set()
    assert again[0].result(10) is None  # committed by the batch before: a redelivery
    assert again[1].result(10).earned == 100
    writer.close()
    assert queries.get_balance(SYSTEM, C, "r-alice", make_uow()) == queries.Balance(50, 300, 250)
    assert queries.get_balance(SYSTEM, C, "r-bob", make_uow()) == queries.Balance(100, 100, 0)
    assert queries.get_balance(SYSTEM, C, "r-carol", make_uow()) == queries.Balance(200, 200, 0)
    verification = queries.verify_ledger(SYSTEM, C, make_uow())
    assert verification.ok and verification.transactions == 4, verification.breaks


def test_an_overdraft_fails_alone_and_the_rest_of_its_batch_commits(replicas) -> None:
    an_overdraft_fails_alone(sql_uow_factory(replicas[0]))


def test_the_writer_batches_on_the_embedded_sqlite_database_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'points.db'}"
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "test-points.events", events.encode)
    an_overdraft_fails_alone(sql_uow_factory(plumbing))
    plumbing.engine.dispose()


def test_two_writers_on_one_community_keep_one_chain(replicas) -> None:
    writers = [CommunityWriter(sql_uow_factory(p)) for p in replicas]
    writers[0].write(C, award("seed", "r-alice", hours=5))
    spent, refused = [], []
    lock = threading.Lock()

    def client(n: int) -> None:
        writer = writers[n % 2]
        answers = []
        for k in range(20):
            answers.append(writer.submit(C, award(f"e{n}-{k}", f"r-{n}")))
            answers.append(writer.submit(C, reserve(f"x{n}-{k}", "r-alice", 70)))
        for answer in answers:
            try:
                result = answer.result(30)
            except FailedPrecondition:
                with lock:
                    refused.append(1)
                continue
            if isinstance(result, reservations.Reservation):
                with lock:
                    spent.append(result.amount)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for writer in writers:
        writer.close()

    make_uow = sql_uow_factory(replicas[0])
    verification = queries.verify_ledger(SYSTEM, C, make_uow())
    assert verification.ok, verification.breaks
    assert verification.transactions == 1 + 8 * 20 + len(spent)
    assert sum(spent) == 70 * 7 and len(refused) == 8 * 20 - 7  # 500 covers 7 holds of 70
    assert queries.get_balance(SYSTEM, C, "r-alice", make_uow()) == queries.Balance(10, 500, 490)
    assert all(w.batches > 0 for w in writers)  # both replicas wrote
    assert sum(w.items for w in writers) > sum(w.batches for w in writers)  # and batched


def completed(n: int) -> bytes:
    """A SessionCompleted envelope for resident n, as attendance's relay puts it on the stream."""
    event = attendance_events_pb2.SessionCompleted(
        session=f"communities/{C}/activities/a/sessions/s{n}",
        resident=f"communities/{C}/residents/r-{n % 50}",
        activity=f"communities/{C}/activities/a",
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        duration_seconds=3600,
    )
    event.signed_in_at.FromDatetime(AT)
    event.signed_out_at.FromDatetime(AT + timedelta(hours=1))
    envelope = envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()), type=event.DESCRIPTOR.full_name, community_id=C
    )
    envelope.occurred_at.FromDatetime(AT + timedelta(hours=1))
    envelope.payload.Pack(event)
    return envelope.SerializeToString()


def test_a_crash_mid_batch_loses_and_repeats_nothing(
    servers, database, stream_prefix, tmp_path: Path
) -> None:
    sessions, stream = 3000, f"{stream_prefix}attendance.events"
    client = redis.Redis.from_url(servers.redis)
    engine = sa.create_engine(database)

    def posted() -> int:
        with engine.connect() as c:
            return int(c.execute(sa.text("SELECT count(*) FROM transactions")).scalar_one())

    def in_flight() -> int:
        return int(posted() >= 100 and client.xpending(stream, "points")["pending"] > 0)

    settings = {
        "database_url": database,
        "redis_url": servers.redis,
        "grpc_host": "127.0.0.1",
        "grpc_port": str(free_port()),
        "metrics_port": "0",
        "stream_prefix": stream_prefix,
        "consumer_name": "points-crash",
        "attendance_consumers": "4",
        "claim_idle_ms": "1000",
        "scheduler_enabled": "false",
        "log_level": "WARNING",
    }
    points = ServiceProcess("points", settings, tmp_path / "points.log")
    points.start()
    try:
        pipe = client.pipeline()
        for n in range(sessions):
            pipe.xadd(stream, {ENVELOPE_FIELD: completed(n)})
        pipe.execute()
        # Kill while entries are delivered but not acknowledged: batches in flight.
        eventually(in_flight, 1, within=60)
        points.kill()
        assert posted() < sessions, "the run ended before the kill: nothing was in flight"
        points.start()
        applied = eventually(posted, sessions, within=90)
    finally:
        points.stop()
        client.close()

    assert applied == sessions
    with engine.connect() as c:
        sources = c.execute(sa.text("SELECT count(DISTINCT source_id) FROM transactions"))
        inbox = c.execute(
            sa.text("SELECT count(*) FROM processed_events WHERE consumer = :c"),
            {"c": earning.SESSION_CONSUMER},
        )
        assert (sources.scalar_one(), inbox.scalar_one()) == (sessions, sessions)
    engine.dispose()
    plumbing = sql_plumbing(database, orm.runtime, "test-points.events", events.encode)
    verification = queries.verify_ledger(SYSTEM, C, sql_uow_factory(plumbing)())
    plumbing.engine.dispose()
    assert verification.ok and verification.transactions == sessions, verification.breaks


def test_a_replica_finds_the_accounts_another_replica_created(replicas) -> None:
    """A replica that knew every account of the community reads them again once the chain
    moved under it, so it never creates an account twice; a failed batch trusts nothing."""
    a, b = (CommunityWriter(sql_uow_factory(p)) for p in replicas)
    a.write(C, award("e1", "r-alice"))  # a knows every account at this chain position
    b.write(C, award("e2", "r-bob"))  # b creates r-bob's accounts
    assert a.write(C, award("e3", "r-bob", hours=2)).earned == 200  # found, not made again
    assert a.write(C, award("e4", "r-carol")).earned == 100  # new, made with the batch
    assert b.write(C, award("e5", "r-carol")).earned == 100
    a.close()
    b.close()
    make_uow = sql_uow_factory(replicas[0])
    assert queries.get_balance(SYSTEM, C, "r-bob", make_uow()) == queries.Balance(300, 300, 0)
    assert queries.get_balance(SYSTEM, C, "r-carol", make_uow()) == queries.Balance(200, 200, 0)
    with replicas[0].engine.connect() as connection:
        owned = connection.execute(
            sa.text("SELECT count(*) FROM accounts WHERE holder LIKE 'r-%'")
        ).scalar_one()
    assert owned == 3 * 2  # yearly and lifetime of three residents, each made once
    verification = queries.verify_ledger(SYSTEM, C, make_uow())
    assert verification.ok and verification.transactions == 5, verification.breaks


def test_what_a_process_remembers_grows_with_accounts_not_with_awards(replicas) -> None:
    """Awards to residents already met add nothing to the ledger memory: it holds each account
    of the community once, with its balance, however many awards have been written."""
    make_uow = sql_uow_factory(replicas[0])
    writer = CommunityWriter(make_uow)
    residents = ["r-alice", "r-bob", "r-carol"]
    for resident in residents:
        writer.write(C, award(f"first-{resident}", resident))
    memory = make_uow().memory
    met = len(memory.accounts), len(memory.balances[C][1])
    answers = [writer.submit(C, award(f"again-{n}", residents[n % 3])) for n in range(60)]
    for answer in answers:
        answer.result()
    writer.close()
    with replicas[0].engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT count(*) FROM accounts WHERE community_id = :c"), {"c": C}
        ).scalar_one()
    assert (len(memory.accounts), len(memory.balances[C][1])) == met
    assert met == (stored, stored)


def test_an_emergency_recorded_in_a_batch_pays_the_sessions_after_it(replicas) -> None:
    """Emergency activities are read once a batch; one recorded in the batch counts at once."""
    catalog = RuleCatalog(
        RuleBook(
            tuple(
                dataclasses.replace(r, amount=200) if r.kind is RuleKind.EMERGENCY else r
                for r in DEFAULT_RULES
            )
        ),
        {},
    )
    writer = CommunityWriter(sql_uow_factory(replicas[0]))
    gate = threading.Event()
    writer.submit(C, lambda _: gate.wait(5))
    activity = f"communities/{C}/activities/flood"

    def served(event_id: str, resident: str):
        cmd = commands.AwardForSession(
            event_id=event_id,
            community_id=C,
            resident_id=resident,
            session=f"{activity}/sessions/{event_id}",
            service_type=ServiceType.REGULAR,
            duration_seconds=3600,
            signed_in_at=AT,
            activity=activity,
        )
        return lambda uow: earning.award_for_session(cmd, uow, catalog)

    emergency = commands.RecordEmergency(
        event_id="em", community_id=C, activity=activity, occurred_at=AT
    )
    before = writer.submit(C, served("s1", "r-alice"))
    writer.submit(C, lambda uow: earning.record_emergency(emergency, uow))
    after = writer.submit(C, served("s2", "r-bob"))
    gate.set()
    before.result(10), after.result(10)
    writer.close()
    make_uow = sql_uow_factory(replicas[0])
    alice = queries.get_balance(SYSTEM, C, "r-alice", make_uow())
    bob = queries.get_balance(SYSTEM, C, "r-bob", make_uow())
    assert (alice.yearly, bob.yearly) == (100, 300)  # the P5 bonus only after the emergency
