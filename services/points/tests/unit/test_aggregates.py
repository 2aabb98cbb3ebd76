"""Every aggregate of the points domain is seen by the unit of work: its events are published."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

import linli_points.domain
from linli_kit.domain import Aggregate, DomainEvent
from linli_points.domain.appeals import Appeal, file_appeal
from linli_points.domain.council import Meeting, Member, Seat, schedule_meeting, seat_member
from linli_points.domain.ledger import LedgerTransaction, RuleKind
from linli_points.domain.reservations import Reservation, Sink, open_reservation
from linli_points.domain.rules import award

C = "c-east"
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Noticed(DomainEvent):
    """A marker event recorded by the test on an aggregate it was handed."""

    what: str


def _domain_aggregates() -> set[type]:
    for module in pkgutil.iter_modules(linli_points.domain.__path__, "linli_points.domain."):
        importlib.import_module(module.name)
    found: set[type] = set()
    todo = list(Aggregate.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("linli_points.domain."):
            found.add(cls)
    return found


def _transaction(uow) -> LedgerTransaction:
    t = award(
        community_id=C,
        resident_id="r-alice",
        amount=300,
        rule_id="p1.hourly.regular",
        source_id="e1",
        reason="3h",
        at=AT,
        rule_kind=RuleKind.SERVICE,
    )
    uow.ledger.post(t)
    uow.commit()
    handed = uow.ledger.get(C, t.id)
    assert handed is not None
    return handed


def _reservation(uow) -> Reservation:
    _transaction(uow)
    r = open_reservation(
        community_id=C,
        resident_id="r-alice",
        amount=100,
        sink=Sink.REWARDS,
        memo="voucher",
        at=AT,
        expires_at=AT + timedelta(minutes=5),
    )
    uow.reservations.add(r)
    uow.commit()
    handed = uow.reservations.get(C, r.id)
    assert handed is not None
    return handed


def _appeal(uow) -> Appeal:
    a = file_appeal(resident_id="r-alice", disputed=_transaction(uow), reason="short", at=AT)
    uow.appeals.add(a)
    uow.commit()
    handed = uow.appeals.get(C, a.id)
    assert handed is not None
    return handed


def _member(uow) -> Member:
    m = seat_member(
        community_id=C,
        resident_id="r-rep",
        seat=Seat.RESIDENT_REPRESENTATIVE,
        organisation="",
        term_start=AT.date(),
        term_end=AT.date() + timedelta(days=365),
        seated_by="r-staff",
        at=AT,
        seats_held=[],
    )
    uow.council.add_member(m)
    uow.commit()
    handed = uow.council.get_member(C, m.id)
    assert handed is not None
    return handed


def _meeting(uow) -> Meeting:
    m = schedule_meeting(
        community_id=C,
        title="council",
        scheduled_for=AT,
        scheduled_by="r-staff",
        appeal_ids=[],
        audits=[(2025, 4)],
        now=AT,
    )
    uow.council.add_meeting(m)
    uow.commit()
    handed = uow.council.get_meeting(C, m.id)
    assert handed is not None
    return handed


# How a unit of work hands out each aggregate type: a new type must be added here.
HANDED_OUT: dict[type, Callable] = {
    LedgerTransaction: _transaction,
    Reservation: _reservation,
    Appeal: _appeal,
    Member: _member,
    Meeting: _meeting,
}


def test_every_aggregate_type_is_listed() -> None:
    assert _domain_aggregates() == set(HANDED_OUT)


@pytest.mark.parametrize("aggregate", sorted(HANDED_OUT, key=lambda c: c.__name__))
def test_an_event_on_a_handed_out_aggregate_is_published(uow, aggregate: type) -> None:
    with uow:
        handed = HANDED_OUT[aggregate](uow)
        uow.published.clear()
        marker = Noticed(community_id=C, occurred_at=AT, what=aggregate.__name__)
        handed.events.append(marker)
        uow.commit()

    assert uow.published == [marker]
