"""The community writer on fakes: batches commit once, an overdraft fails alone, order is kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from linli_kit.principals import SYSTEM
from linli_points.domain.ledger import InsufficientPoints
from linli_points.domain.reservations import Sink
from linli_points.domain.rules import ServiceType
from linli_points.service_layer import commands, earning, queries, reservations
from linli_points.service_layer.writer import CommunityWriter

C = "c-east"
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


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


def held_writer(uow) -> tuple[CommunityWriter, threading.Event]:
    """A writer whose first batch waits on a gate, so that what follows queues as one batch."""
    writer = CommunityWriter(uow)
    gate = threading.Event()
    writer.submit(C, lambda _: gate.wait(5))
    return writer, gate


def test_an_overdraft_fails_alone_and_the_rest_of_its_batch_commits(uow) -> None:
    writer, gate = held_writer(uow)
    answers = [
        writer.submit(C, award("e1", "r-alice")),
        writer.submit(C, reserve("x1", "r-bob", 100)),
        writer.submit(C, award("e2", "r-carol", hours=2)),
    ]
    gate.set()

    assert answers[0].result(5).earned == 100
    with pytest.raises(InsufficientPoints):
        answers[1].result(5)
    assert answers[2].result(5).earned == 200
    writer.close()
    assert (writer.batches, writer.items) == (2, 4)
    assert queries.get_balance(SYSTEM, C, "r-alice", uow).yearly == 100
    assert queries.get_balance(SYSTEM, C, "r-bob", uow) == queries.Balance(0, 0, 0)
    assert queries.get_balance(SYSTEM, C, "r-carol", uow).yearly == 200
    assert [e.amount for e in uow.published] == [100, 200]
    assert queries.verify_ledger(SYSTEM, C, uow).ok


def test_one_batch_applies_a_repeated_event_once_and_spends_what_it_earned(uow) -> None:
    writer, gate = held_writer(uow)
    answers = [
        writer.submit(C, award("e1", "r-alice", hours=3)),
        writer.submit(C, award("e1", "r-alice", hours=3)),
        writer.submit(C, reserve("x1", "r-alice", 250)),
        writer.submit(C, reserve("x1", "r-alice", 250)),
    ]
    gate.set()

    first, repeated, reserved, retried = (a.result(5) for a in answers)
    writer.close()
    assert first.earned == 300 and repeated is None
    assert retried.id == reserved.id
    assert (writer.batches, writer.items) == (2, 5)
    assert queries.get_balance(SYSTEM, C, "r-alice", uow) == queries.Balance(50, 300, 250)
    assert queries.verify_ledger(SYSTEM, C, uow).ok


def test_a_caller_that_gave_up_is_not_written_and_the_writer_goes_on(uow) -> None:
    writer, gate = held_writer(uow)
    abandoned = writer.submit(C, award("e1", "r-alice"))
    kept = writer.submit(C, award("e2", "r-bob"))
    assert abandoned.cancel()  # as asyncio.wrap_future does when a gRPC call is abandoned
    gate.set()

    assert kept.result(5).earned == 100
    assert writer.submit(C, award("e3", "r-bob")).result(5).earned == 100
    writer.close()
    assert queries.get_balance(SYSTEM, C, "r-alice", uow) == queries.Balance(0, 0, 0)
    assert queries.get_balance(SYSTEM, C, "r-bob", uow).yearly == 200
    assert queries.verify_ledger(SYSTEM, C, uow).ok
