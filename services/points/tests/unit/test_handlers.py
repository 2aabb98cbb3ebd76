"""Points use cases against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linli_kit.names import encode_page_token
from linli_kit.principals import SYSTEM
from linli_points.domain.ledger import ISSUANCE, Account, PointsAwarded, Purpose
from linli_points.domain.rules import ServiceType
from linli_points.service_layer.commands import AwardForSession
from linli_points.service_layer.earning import SESSION_CONSUMER, award_for_session
from linli_points.service_layer.queries import Balance, get_balance, list_transactions

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SESSION = "communities/c-east/activities/a1/sessions/s1"


def completed(
    event_id: str = "e1",
    seconds: int = 2 * 3600,
    service_type: ServiceType = ServiceType.PROFESSIONAL,
    resident_id: str = "r-alice",
    community_id: str = "c-east",
    at: datetime = AT,
) -> AwardForSession:
    """An award command as the SessionCompleted consumer builds it."""
    return AwardForSession(
        event_id=event_id,
        community_id=community_id,
        resident_id=resident_id,
        session=SESSION,
        service_type=service_type,
        duration_seconds=seconds,
        signed_in_at=at,
    )


def test_a_completed_session_credits_yearly_and_lifetime(uow) -> None:
    t = award_for_session(completed(), uow)

    assert t is not None
    assert get_balance(SYSTEM, "c-east", "r-alice", uow) == Balance(yearly=400, lifetime=400)
    assert uow.ledger.balance(Account("c-east", ISSUANCE, Purpose.YEARLY)) == -400
    assert uow.ledger.balance(Account("c-east", ISSUANCE, Purpose.LIFETIME)) == -400
    assert uow.committed
    assert t.rule_id == "p1.hourly.professional"
    assert t.source_id == "e1"
    assert t.reason == f"2h00m of professional service in {SESSION} at 2.00/h"


def test_the_award_event_is_published_on_commit(uow) -> None:
    t = award_for_session(completed(seconds=90 * 60, service_type=ServiceType.REGULAR), uow)

    assert uow.published == [
        PointsAwarded(
            community_id="c-east",
            occurred_at=AT,
            transaction_id=t.id,
            resident_id="r-alice",
            amount=150,
            rule_id="p1.hourly.regular",
            source_id="e1",
        )
    ]


def test_a_redelivered_event_changes_nothing(uow) -> None:
    award_for_session(completed(), uow)

    again = award_for_session(completed(), uow)

    assert again is None
    assert get_balance(SYSTEM, "c-east", "r-alice", uow) == Balance(yearly=400, lifetime=400)
    assert len(uow.ledger.transactions) == 1
    assert len(uow.published) == 1


def test_distinct_events_add_up(uow) -> None:
    award_for_session(completed("e1", seconds=90 * 60, service_type=ServiceType.REGULAR), uow)
    award_for_session(completed("e2", seconds=59, service_type=ServiceType.HIGH_RISK), uow)
    award_for_session(completed("e3"), uow)

    assert get_balance(SYSTEM, "c-east", "r-alice", uow) == Balance(yearly=554, lifetime=554)
    assert sum(uow.ledger.balances.values()) == 0


def test_zero_duration_awards_nothing_but_marks_the_event_applied(uow) -> None:
    result = award_for_session(completed(seconds=0), uow)

    assert result is None
    assert uow.ledger.transactions == []
    assert uow.published == []
    assert uow.committed
    assert uow.inbox.applied == {(SESSION_CONSUMER, "e1")}


def test_a_duration_worth_less_than_a_hundredth_awards_nothing(uow) -> None:
    assert award_for_session(completed(seconds=11, service_type=ServiceType.HIGH_RISK), uow) is None
    assert get_balance(SYSTEM, "c-east", "r-alice", uow) == Balance(yearly=0, lifetime=0)


def test_balances_are_per_resident_and_per_community(uow) -> None:
    award_for_session(completed("e1"), uow)
    award_for_session(completed("e2", resident_id="r-bob", seconds=3600), uow)

    assert get_balance(SYSTEM, "c-east", "r-bob", uow) == Balance(yearly=200, lifetime=200)
    assert get_balance(SYSTEM, "c-west", "r-alice", uow) == Balance(yearly=0, lifetime=0)
    assert get_balance(SYSTEM, "c-east", "r-nobody", uow) == Balance(yearly=0, lifetime=0)


def test_list_transactions_pages_newest_first(uow) -> None:
    made = [
        award_for_session(completed(f"e{i}", seconds=3600, at=AT + timedelta(hours=i)), uow)
        for i in range(5)
    ]
    award_for_session(completed("other", resident_id="r-bob", at=AT + timedelta(hours=9)), uow)

    first = list_transactions(SYSTEM, "c-east", "r-alice", 0, 2, uow)
    last = list_transactions(SYSTEM, "c-east", "r-alice", 4, 2, uow)

    assert [t.id for t in first.transactions] == [made[4].id, made[3].id]
    assert first.next_page_token == encode_page_token(2)
    assert [t.id for t in last.transactions] == [made[0].id]
    assert last.next_page_token == ""


def test_a_page_that_ends_exactly_at_the_last_transaction_has_no_next_token(uow) -> None:
    for i in range(2):
        award_for_session(completed(f"e{i}", at=AT + timedelta(hours=i)), uow)

    page = list_transactions(SYSTEM, "c-east", "r-alice", 0, 2, uow)

    assert len(page.transactions) == 2
    assert page.next_page_token == ""
