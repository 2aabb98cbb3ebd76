"""Reservations (R4), closes (P2, P4), appeals (P8), audit (P9) and boards (P7) on fakes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    IdempotencyConflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from linli_kit.principals import SYSTEM, Role
from linli_kit.testing import load_beside
from linli_points.domain import standings
from linli_points.domain.audit import report_csv
from linli_points.domain.ledger import (
    EXPIRY,
    REDEMPTION,
    TIMEBANK,
    Account,
    InsufficientPoints,
    Kind,
    Posting,
    Purpose,
)
from linli_points.domain.reservations import ReservationState, Sink, open_reservation
from linli_points.domain.rules import ServiceType
from linli_points.service_layer import (
    appeals,
    closes,
    commands,
    earning,
    leaderboards,
    queries,
    reservations,
)
from linli_points.service_layer.ports import LeaderboardStore

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")
C = "c-east"
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai


def at(when: datetime):
    """A clock stopped at one instant."""
    return lambda: when


def earn(uow, resident="r-alice", hours=2, when=AT, event_id=None):
    """Award regular hours to a resident."""
    event_id = event_id or f"e-{resident}-{when.isoformat()}"
    return earning.award_for_session(
        commands.AwardForSession(
            event_id=event_id,
            community_id=C,
            resident_id=resident,
            session=f"communities/{C}/activities/a/sessions/{event_id}",
            service_type=ServiceType.REGULAR,
            duration_seconds=hours * 3600,
            signed_in_at=when,
        ),
        uow,
    )


def reserve(uow, amount, request_id="r1", ttl=600, when=AT, resident="r-alice", sink=Sink.REWARDS):
    """Reserve points of a resident for a reward (or a time-bank transfer)."""
    return reservations.reserve(
        commands.Reserve(SYSTEM, request_id, C, resident, amount, sink, "voucher", ttl),
        uow,
        at(when),
    )


def settle(uow, reservation_id, commit, request_id="s1", when=AT):
    """Commit or void a reservation."""
    return reservations.settle_reservation(
        commands.SettleReservation(SYSTEM, request_id, C, reservation_id, commit, "changed mind"),
        uow,
        at(when),
    )


def refund(uow, reservation_id, request_id="f1", when=AT, reason="voucher cancelled"):
    """Give a committed redemption's points back."""
    return reservations.refund_reservation(
        commands.RefundReservation(SYSTEM, request_id, C, reservation_id, reason), uow, at(when)
    )


def redeemed(uow) -> int:
    """What the system redemption account holds."""
    return uow.ledger.balance(Account(C, REDEMPTION, Purpose.YEARLY))


def close_periods(uow, when: datetime) -> list:
    """Close the ended weeks at an instant; the bonus transactions posted."""
    run = closes.close_periods(commands.ClosePeriods(SYSTEM, "", C), uow, clock=at(when))
    return closes.posted_by(uow, run)


def close_year(uow, year: int, when: datetime) -> list:
    """Close a year at an instant; the expiry transactions posted."""
    return closes.posted_by(
        uow, closes.close_year(commands.CloseYear(SYSTEM, "", C, year), uow, at(when))
    )


def balance(uow, resident="r-alice") -> queries.Balance:
    """A resident's balances."""
    return queries.get_balance(SYSTEM, C, resident, uow)


def test_reserving_more_than_the_spendable_balance_is_refused(uow) -> None:
    earn(uow, hours=2)

    with pytest.raises(InsufficientPoints):
        reserve(uow, 201)

    assert balance(uow) == queries.Balance(yearly=200, lifetime=200)
    assert uow.reservations.rows == {}


def test_a_retried_reservation_returns_the_first_and_other_arguments_conflict(uow) -> None:
    earn(uow, hours=2)
    first = reserve(uow, 150)

    assert reserve(uow, 150).id == first.id
    with pytest.raises(IdempotencyConflict):
        reserve(uow, 151)
    assert balance(uow).reserved == 150


def test_commit_spends_void_releases_and_neither_happens_twice(uow) -> None:
    earn(uow, hours=3)
    spent, released = reserve(uow, 100, "a"), reserve(uow, 100, "b")

    settle(uow, spent.id, True, "c1")
    settle(uow, released.id, False, "v1")

    assert balance(uow) == queries.Balance(yearly=200, lifetime=300, reserved=0)
    with pytest.raises(FailedPrecondition, match="already committed"):
        settle(uow, spent.id, False, "v2")
    with pytest.raises(FailedPrecondition, match="already voided"):
        settle(uow, released.id, True, "c2")
    assert settle(uow, spent.id, True, "c1").state is ReservationState.COMMITTED  # a retry
    with pytest.raises(NotFound):
        settle(uow, "nope", True, "c3")


def test_forgotten_reservations_are_voided_when_they_time_out(uow) -> None:
    earn(uow, hours=3)
    reservation = reserve(uow, 100, ttl=60)

    assert reservations.void_expired(uow, AT + timedelta(seconds=59)) == 0
    with pytest.raises(FailedPrecondition, match="expired"):
        settle(uow, reservation.id, True, when=AT + timedelta(seconds=61))
    assert reservations.void_expired(uow, AT + timedelta(seconds=61)) == 1

    assert uow.reservations.get(C, reservation.id).state is ReservationState.VOIDED
    assert balance(uow) == queries.Balance(yearly=300, lifetime=300)


def test_a_reservation_voided_in_the_next_year_expires_instead_of_returning(uow) -> None:
    december = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    earn(uow, hours=3, when=december)
    reservation = reserve(uow, 100, ttl=86400, when=december)

    settle(uow, reservation.id, False, when=december + timedelta(hours=8))

    assert balance(uow) == queries.Balance(yearly=200, lifetime=300)
    assert uow.ledger.balance(Account(C, EXPIRY, Purpose.YEARLY)) == 100


def a_reservation(sink: Sink = Sink.REWARDS, at_: datetime = AT):
    """A pending reservation of 100 made at an instant (the domain object alone)."""
    return open_reservation(
        community_id=C,
        resident_id="r-alice",
        amount=100,
        sink=sink,
        memo="voucher",
        at=at_,
        expires_at=at_ + timedelta(minutes=10),
    )


def test_a_refund_moves_a_committed_redemption_back_from_the_sink_once() -> None:
    reservation = a_reservation()
    reservation.commit(AT + timedelta(minutes=1))

    refunded = reservation.refund(AT + timedelta(days=3), "voucher cancelled")

    assert reservation.state is ReservationState.REFUNDED
    assert reservation.refunded_at == AT + timedelta(days=3)
    assert reservation.refund_reason == "voucher cancelled"
    assert (reservation.settled_at, reservation.settle_reason) == (
        AT + timedelta(minutes=1),
        "committed",
    )  # the commit's record stays
    assert (refunded.rule_id, refunded.kind, refunded.source_id) == (
        "r4.refund",
        Kind.REFUND,
        reservation.id,
    )
    assert sorted((p.account.key, p.amount) for p in refunded.postings) == [
        ("r-alice:yearly", 100),
        ("system-redemption:yearly", -100),
    ]
    assert refunded.earned == 0  # a refund earns nothing: no rank, no lifetime
    with pytest.raises(FailedPrecondition, match="already refunded"):
        reservation.refund(AT + timedelta(days=4), "again")
    with pytest.raises(FailedPrecondition, match="already refunded"):
        reservation.void(AT + timedelta(days=4), "too late")


def test_only_a_committed_redemption_is_refunded() -> None:
    pending, voided, transfer = (
        a_reservation(),
        a_reservation(),
        a_reservation(Sink.TIMEBANK),
    )
    voided.void(AT, "changed mind")
    transfer.commit(AT)

    with pytest.raises(FailedPrecondition, match="is pending; only a committed one"):
        pending.refund(AT, "x")
    with pytest.raises(FailedPrecondition, match="is voided; only a committed one"):
        voided.refund(AT, "x")
    with pytest.raises(FailedPrecondition, match="timebank transfer"):
        transfer.refund(AT, "x")
    assert [r.state for r in (pending, voided, transfer)] == [
        ReservationState.PENDING,
        ReservationState.VOIDED,
        ReservationState.COMMITTED,
    ]


def test_a_redemption_refunded_in_a_later_year_goes_to_expiry() -> None:
    december = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)  # 18:00 in Asia/Shanghai
    reservation = a_reservation(at_=december)
    reservation.commit(december + timedelta(minutes=1))

    refunded = reservation.refund(december + timedelta(hours=8), "voucher expired unused")

    assert sorted((p.account.key, p.amount) for p in refunded.postings) == [
        ("system-expiry:yearly", 100),
        ("system-redemption:yearly", -100),
    ]
    assert "2026" in refunded.reason
    assert reservation.state is ReservationState.REFUNDED


def test_a_refund_gives_the_points_back_once_and_a_retry_replays(uow) -> None:
    earn(uow, hours=3)
    spent = reserve(uow, 100)
    settle(uow, spent.id, True)
    assert (balance(uow), redeemed(uow)) == (queries.Balance(yearly=200, lifetime=300), 100)

    first = refund(uow, spent.id, "f1", when=AT + timedelta(days=2))

    assert first.state is ReservationState.REFUNDED
    assert (balance(uow), redeemed(uow)) == (queries.Balance(yearly=300, lifetime=300), 0)
    assert uow.reservations.get(C, spent.id).state is ReservationState.REFUNDED
    assert refund(uow, spent.id, "f1", when=AT + timedelta(days=3)).refunded_at == (
        AT + timedelta(days=2)
    )  # a retry answers from the first refund and posts nothing
    with pytest.raises(FailedPrecondition, match="already refunded"):
        refund(uow, spent.id, "f2")
    with pytest.raises(FailedPrecondition, match="already refunded"):
        settle(uow, spent.id, False, "v1")
    assert (balance(uow), redeemed(uow)) == (queries.Balance(yearly=300, lifetime=300), 0)
    assert [t.kind for t in uow.ledger.transactions].count(Kind.REFUND) == 1
    assert queries.verify_ledger(SYSTEM, C, uow).ok


def test_pending_voided_and_time_bank_reservations_are_not_refunded(uow) -> None:
    earn(uow, hours=5)
    pending, voided = reserve(uow, 100, "a"), reserve(uow, 100, "b")
    transfer = reserve(uow, 100, "c", sink=Sink.TIMEBANK)
    settle(uow, voided.id, False, "v1")
    settle(uow, transfer.id, True, "c1")
    before = len(uow.ledger.transactions)

    for reservation, why in ((pending, "pending"), (voided, "voided"), (transfer, "timebank")):
        with pytest.raises(FailedPrecondition, match=why):
            refund(uow, reservation.id, f"f-{why}")
    with pytest.raises(NotFound):
        refund(uow, "nope", "f-none")

    assert len(uow.ledger.transactions) == before
    assert uow.ledger.balance(Account(C, TIMEBANK, Purpose.YEARLY)) == 100
    assert balance(uow) == queries.Balance(yearly=300, lifetime=500, reserved=100)


def test_a_person_never_refunds_not_even_their_own_redemption(uow) -> None:
    earn(uow, hours=3)
    spent = reserve(uow, 100)
    settle(uow, spent.id, True)
    alice = fakes.person(C, "r-alice", Role.RESIDENT)

    with pytest.raises(PermissionDenied):
        reservations.refund_reservation(
            commands.RefundReservation(alice, "f1", C, spent.id, "mine"), uow, at(AT)
        )
    assert redeemed(uow) == 100


def test_a_redemption_refunded_in_the_next_year_expires_instead_of_returning(uow) -> None:
    december = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    earn(uow, hours=3, when=december)
    spent = reserve(uow, 100, when=december)
    settle(uow, spent.id, True, when=december + timedelta(minutes=1))

    refund(uow, spent.id, when=december + timedelta(hours=8))

    assert balance(uow) == queries.Balance(yearly=200, lifetime=300)
    assert uow.ledger.balance(Account(C, EXPIRY, Purpose.YEARLY)) == 100
    assert redeemed(uow) == 0


def test_a_late_year_close_expires_only_what_was_left_of_the_year(uow) -> None:
    earn(uow, hours=5, when=datetime(2026, 12, 30, tzinfo=UTC))
    january = datetime(2027, 1, 5, tzinfo=UTC)
    earn(uow, hours=2, when=january)
    reserve(uow, 400, when=january + timedelta(hours=1), ttl=86400 * 30)

    expired = close_year(uow, 2026, datetime(2027, 1, 20, tzinfo=UTC))

    # Spending draws on the oldest points: 4 of the 5 old points were reserved, 1 expires.
    assert [t.amount_for(EXPIRY, Purpose.YEARLY) for t in expired] == [100]
    assert balance(uow) == queries.Balance(yearly=200, lifetime=700, reserved=400)
    assert close_year(uow, 2026, datetime(2027, 2, 1, tzinfo=UTC)) == []


def test_an_award_dated_in_the_closed_year_but_posted_later_expires_on_re_run(uow) -> None:
    earn(uow, hours=1, when=datetime(2026, 12, 30, tzinfo=UTC))
    close_year(uow, 2026, datetime(2027, 1, 1, 1, tzinfo=UTC))
    earn(uow, hours=2, when=datetime(2026, 12, 31, tzinfo=UTC))

    again = close_year(uow, 2026, datetime(2027, 1, 2, tzinfo=UTC))

    assert [t.source_id for t in again] == ["2026:r-alice:1"]
    assert balance(uow) == queries.Balance(yearly=0, lifetime=300)


DECEMBER, JANUARY = datetime(2026, 12, 30, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC)


def expired_amounts(closed: list) -> list[int]:
    """What each expiry transaction of a close sent to expiry."""
    return [t.amount_for(EXPIRY, Purpose.YEARLY) for t in closed]


def test_a_hold_voided_before_a_late_close_gives_the_old_years_points_back_to_expire(uow) -> None:
    earn(uow, hours=5, when=DECEMBER)
    held = reserve(uow, 500, when=JANUARY, ttl=86400)
    settle(uow, held.id, False, when=JANUARY + timedelta(hours=1))

    assert expired_amounts(close_year(uow, 2026, datetime(2027, 1, 20, tzinfo=UTC))) == [500]
    assert balance(uow) == queries.Balance(yearly=0, lifetime=500)


def test_points_given_back_after_a_close_expire_when_it_runs_again_and_only_once(uow) -> None:
    earn(uow, hours=5, when=DECEMBER)
    earn(uow, hours=2, when=JANUARY)
    held = reserve(uow, 400, when=JANUARY + timedelta(hours=1), ttl=86400 * 30)
    spent = reserve(uow, 100, request_id="r2", when=JANUARY + timedelta(hours=2))
    settle(uow, spent.id, True, request_id="s2", when=JANUARY + timedelta(hours=2, minutes=1))
    # Late: the old points were drawn first (4 held, 1 spent), so nothing is left to expire.
    assert close_year(uow, 2026, datetime(2027, 1, 6, tzinfo=UTC)) == []

    settle(uow, held.id, False, when=datetime(2027, 1, 7, tzinfo=UTC))
    refund(uow, spent.id, when=datetime(2027, 1, 8, tzinfo=UTC))
    again = close_year(uow, 2026, datetime(2027, 1, 11, tzinfo=UTC))

    # The 5 old points came back and expire; the 2 new ones stay, and nothing expires twice.
    assert expired_amounts(again) == [500]
    assert balance(uow) == queries.Balance(yearly=200, lifetime=700)
    assert close_year(uow, 2026, datetime(2027, 1, 18, tzinfo=UTC)) == []
    assert close_year(uow, 2026, datetime(2027, 2, 1, tzinfo=UTC)) == []


def test_holds_made_after_an_on_time_close_spend_the_new_year_only(uow) -> None:
    earn(uow, hours=5, when=DECEMBER)
    assert expired_amounts(close_year(uow, 2026, datetime(2027, 1, 1, tzinfo=UTC))) == [500]
    earn(uow, hours=3, when=JANUARY)
    held = reserve(uow, 300, when=JANUARY + timedelta(hours=1), ttl=86400)
    settle(uow, held.id, False, when=JANUARY + timedelta(hours=2))
    spent = reserve(uow, 100, request_id="r2", when=JANUARY + timedelta(hours=3))
    settle(uow, spent.id, True, request_id="s2", when=JANUARY + timedelta(hours=3, minutes=1))
    refund(uow, spent.id, when=JANUARY + timedelta(hours=5))

    assert close_year(uow, 2026, datetime(2027, 1, 11, tzinfo=UTC)) == []
    assert balance(uow) == queries.Balance(yearly=300, lifetime=800)


def test_a_reversal_of_a_new_years_award_takes_that_awards_points_not_the_old_years(uow) -> None:
    earn(uow, hours=5, when=DECEMBER)
    award = earn(uow, hours=2, when=JANUARY, event_id="jan")
    earning.correct_session(
        commands.CorrectSession(
            event_id="fix",
            community_id=C,
            resident_id="r-alice",
            session=award.session,
            activity="a",
            service_type=ServiceType.REGULAR,
            duration_seconds=0,
            corrected_by="r-staff",
            reason="never came",
            occurred_at=JANUARY + timedelta(hours=3),
        ),
        uow,
    )

    assert expired_amounts(close_year(uow, 2026, datetime(2027, 1, 20, tzinfo=UTC))) == [500]
    assert balance(uow) == queries.Balance(yearly=0, lifetime=500)


def test_a_year_that_has_not_ended_cannot_be_closed(uow) -> None:
    with pytest.raises(InvalidArgument, match="not ended"):
        close_year(uow, 2026, datetime(2026, 12, 31, 15, 59, tzinfo=UTC))


def test_streak_bonuses_repeat_every_full_ten_weeks_and_a_gap_restarts_the_count(uow) -> None:
    weeks = [*range(0, 20), *range(21, 31)]  # 20 weeks, a week off, then 10 more
    for w in weeks:
        earn(uow, hours=1, when=AT + timedelta(weeks=w))

    posted = close_periods(uow, AT + timedelta(weeks=40))

    streaks = sorted(t.created_at for t in posted if t.rule_id == "p2.streak.10w")
    assert len(streaks) == 3
    assert [t.rule_id for t in posted].count("p2.first_participation") == 1
    assert close_periods(uow, AT + timedelta(weeks=41)) == []


def test_a_week_that_has_not_ended_earns_no_bonus_yet(uow) -> None:
    earn(uow, hours=1)

    assert close_periods(uow, AT + timedelta(days=5)) == []
    posted = close_periods(uow, AT + timedelta(days=7))
    assert [t.rule_id for t in posted] == ["p2.first_participation"]


def committee(uow, *members: str) -> None:
    """Seat residents on the supervision committee, as identity's role grants do."""
    for member in members:
        appeals.change_committee(
            commands.ChangeCommittee(f"granted-{member}", C, member, True, AT), uow
        )


def appeal(uow, transaction_id, resident="r-alice", request_id="a1"):
    """File an appeal."""
    return appeals.file_an_appeal(
        commands.FileAppeal(
            fakes.person(C, resident), request_id, C, resident, transaction_id, "I served longer"
        ),
        uow,
        at(AT),
    )


def decide(uow, appeal_id, reviewer, accept=True, amount=100, reason="agreed", request_id="d1"):
    """Decide an appeal."""
    return appeals.decide_appeal(
        commands.DecideAppeal(
            fakes.person(C, reviewer, Role.COMMITTEE_MEMBER),
            request_id,
            C,
            appeal_id,
            accept,
            reason,
            amount,
        ),
        uow,
        clock=at(AT + timedelta(days=1)),
    )


def test_an_upheld_appeal_posts_a_compensating_transaction(uow) -> None:
    committee(uow, "r-judge")
    award = earn(uow)
    filed = appeal(uow, award.id)

    decided = decide(uow, filed.id, "r-judge", amount=150)

    assert decided.status == "accepted" and decided.reviewer == "r-judge"
    compensation = uow.ledger.get(C, decided.compensation_transaction_id)
    assert compensation.kind == "compensation" and compensation.actor == "r-judge"
    assert award.id in compensation.reason
    assert balance(uow) == queries.Balance(yearly=350, lifetime=350)
    assert [a.status for a in appeals.list_appeals(SYSTEM, C, "r-alice", (), 0, 50, uow)[0]] == [
        "accepted"
    ]


def committed_spend(uow, amount=400):
    """A redemption of Alice's committed: the reservation and its commit transaction."""
    earn(uow, hours=5)
    spent = reserve(uow, amount)
    settle(uow, spent.id, True)
    (commit,) = [t for t in uow.ledger.find(C) if t.rule_id == "r4.commit"]
    return spent, commit


def test_an_appeal_about_a_refunded_redemption_is_refused_with_the_reason(uow) -> None:
    committee(uow, "r-judge")
    spent, commit = committed_spend(uow)
    refund(uow, spent.id)

    with pytest.raises(FailedPrecondition, match=rf"redemption {spent.id} was refunded.*came back"):
        appeal(uow, commit.id)

    assert balance(uow) == queries.Balance(yearly=500, lifetime=500)


def test_an_appeal_filed_before_its_redemption_was_refunded_is_not_compensated(uow) -> None:
    committee(uow, "r-judge")
    spent, commit = committed_spend(uow)
    filed = appeal(uow, commit.id)
    refund(uow, spent.id)

    with pytest.raises(FailedPrecondition, match="refunded"):
        decide(uow, filed.id, "r-judge", amount=400)
    rejected = decide(uow, filed.id, "r-judge", accept=False, reason="refunded", request_id="d2")

    assert rejected.status == "rejected"
    assert balance(uow) == queries.Balance(yearly=500, lifetime=500)


def test_a_refund_after_an_upheld_appeal_gives_back_only_the_rest(uow) -> None:
    committee(uow, "r-judge")
    spent, commit = committed_spend(uow)
    decide(uow, appeal(uow, commit.id).id, "r-judge", amount=100)

    refunded = refund(uow, spent.id)

    assert refunded.state is ReservationState.REFUNDED
    assert balance(uow).yearly == 100 + 100 + 300  # what was left, the appeal, the rest
    assert redeemed(uow) == 100
    (back,) = [t for t in uow.ledger.find(C) if t.rule_id == "r4.refund"]
    assert "less 1.00 an upheld appeal gave back" in back.reason


def test_a_redemption_an_upheld_appeal_gave_back_in_full_is_not_refunded(uow) -> None:
    committee(uow, "r-judge")
    spent, commit = committed_spend(uow)
    decide(uow, appeal(uow, commit.id).id, "r-judge", amount=400)

    with pytest.raises(FailedPrecondition, match="already given back by an upheld appeal"):
        refund(uow, spent.id)

    assert balance(uow).yearly == 500
    assert uow.reservations.get(C, spent.id).state is ReservationState.COMMITTED


def test_a_rejected_appeal_keeps_its_reason_and_moves_no_points(uow) -> None:
    committee(uow, "r-judge")
    filed = appeal(uow, earn(uow).id)

    with pytest.raises(InvalidArgument, match="needs a reason"):
        decide(uow, filed.id, "r-judge", accept=False, reason=" ")
    decide(uow, filed.id, "r-judge", accept=False, reason="sign-out time was right")

    seen = appeals.get_appeal(SYSTEM, C, filed.id, uow)
    assert (seen.status, seen.decision_reason) == ("rejected", "sign-out time was right")
    assert balance(uow).yearly == 200
    with pytest.raises(FailedPrecondition, match="already rejected"):
        decide(uow, filed.id, "r-judge", request_id="d2")


def test_separation_of_duties(uow) -> None:
    committee(uow, "r-alice", "r-staff")
    award = earn(uow)
    earning.correct_session(
        commands.CorrectSession(
            "k1",
            C,
            "r-alice",
            award.session,
            "",
            ServiceType.REGULAR,
            3600,
            "r-staff",
            "late",
            AT + timedelta(hours=1),
        ),
        uow,
    )
    reversal = next(t for t in uow.ledger.transactions if t.reverses == award.id)
    own = appeal(uow, award.id)
    against_staff = appeal(uow, reversal.id, request_id="a2")

    with pytest.raises(PermissionDenied, match="own appeal"):
        decide(uow, own.id, "r-alice")
    with pytest.raises(PermissionDenied, match="not on the supervision committee"):
        decide(uow, own.id, "r-bob")
    with pytest.raises(PermissionDenied, match="their own decision"):
        decide(uow, against_staff.id, "r-staff", request_id="d3")
    assert decide(uow, own.id, "r-staff", request_id="d4").status == "accepted"


def test_residents_appeal_only_their_own_transactions_once_at_a_time(uow) -> None:
    award = earn(uow)

    with pytest.raises(PermissionDenied):
        appeal(uow, award.id, resident="r-bob")
    with pytest.raises(NotFound):
        appeal(uow, "missing")
    appeal(uow, award.id)
    with pytest.raises(AlreadyExists):
        appeal(uow, award.id, request_id="a9")


def test_verify_finds_an_altered_entry_a_removed_entry_and_a_wrong_balance(uow) -> None:
    for n in range(3):
        earn(uow, hours=n + 1, event_id=f"e{n}")
    assert queries.verify_ledger(SYSTEM, C, uow).ok

    chain = uow.ledger.entries[C]
    tampered = chain[1].transaction
    bumped = tuple(
        Posting(p.account, p.amount + 100) if i == 1 else Posting(p.account, p.amount)
        for i, p in enumerate(tampered.postings)
    )
    object.__setattr__(tampered, "postings", bumped)
    result = queries.verify_ledger(SYSTEM, C, uow)
    assert not result.ok
    assert any("entry 2" in b and "altered" in b for b in result.breaks)
    assert any("sum to 100" in b for b in result.breaks)

    del uow.ledger.entries[C][1]
    assert any("entry 2 is missing" in b for b in queries.verify_ledger(SYSTEM, C, uow).breaks)


def test_verify_finds_a_balance_edited_behind_the_ledgers_back(uow) -> None:
    earn(uow)
    uow.ledger.balances[Account(C, "r-alice", Purpose.YEARLY)] += 1

    breaks = queries.verify_ledger(SYSTEM, C, uow).breaks
    assert breaks == ["account r-alice:yearly holds 201 but its postings sum to 200"]


def test_the_quarterly_report_totals_ranks_and_checks_integrity(uow) -> None:
    committee(uow, "r-judge")
    earn(uow, "r-alice", hours=3, when=AT)
    bob = earn(uow, "r-bob", hours=1, when=AT - timedelta(days=30))
    earn(uow, "r-bob", hours=9, when=datetime(2026, 7, 1, tzinfo=UTC))  # next quarter
    decide(uow, appeal(uow, bob.id, resident="r-bob").id, "r-judge", accept=False, reason="no")

    report = queries.audit_report(SYSTEM, C, 2026, 1, uow)

    assert report["totals_by_rule"] == {"p1.hourly.regular": 400}
    assert report["totals_by_month"] == {"2026-01": 100, "2026-03": 300}
    assert [e["resident"] for e in report["top_earners"]] == ["r-alice", "r-bob"]
    assert report["appeals"] == {"filed": 0, "accepted": 0, "rejected": 1}
    assert report["integrity"]["ok"] is True
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert ["totals_by_rule", "p1.hourly.regular", "400"] in rows
    assert ["integrity", "ok", "True"] in rows
    with pytest.raises(InvalidArgument):
        queries.audit_report(SYSTEM, C, 2026, 5, uow)


class Boards(LeaderboardStore):
    """Boards kept in a dict."""

    def __init__(self) -> None:
        self.boards: dict[tuple[str, int], dict] = {}

    def replace(self, community_id, year, boards) -> None:
        """Swap in a year's boards."""
        self.boards[(community_id, year)] = {s: dict(b) for s, b in boards.items()}


def test_boards_are_rebuilt_from_the_ledger_per_grid_and_building(uow) -> None:
    earning.record_org_unit(commands.RecordOrgUnit("i1", C, "r-alice", "grid-1/building-3"), uow)
    earning.record_org_unit(commands.RecordOrgUnit("i2", C, "r-bob", "grid-1/building-4"), uow)
    earn(uow, "r-alice", hours=3)
    earn(uow, "r-bob", hours=1)
    earn(uow, "r-cai", hours=2)
    earn(uow, "r-alice", hours=5, when=datetime(2025, 6, 1, tzinfo=UTC))  # another year

    store = Boards()
    rebuild = commands.RebuildLeaderboard(SYSTEM, "", C, 2026)
    assert leaderboards.rebuild_leaderboards(rebuild, uow, store).residents == 3

    boards = store.boards[(C, 2026)]
    assert boards["community"] == {"r-alice": 300, "r-bob": 100, "r-cai": 200}
    assert boards["grid:grid-1"] == {"r-alice": 300, "r-bob": 100}
    assert boards["building:grid-1/building-3"] == {"r-alice": 300}


def test_scopes_diffs_and_tiers() -> None:
    assert standings.scopes_for("") == ["community"]
    assert standings.scopes_for("grid-2/building-7") == [
        "community",
        "grid:grid-2",
        "building:grid-2/building-7",
    ]
    with pytest.raises(InvalidArgument):
        standings.check_scope("street:9")
    before = standings.places([("a", 300), ("b", 200), ("c", 100)])
    after = standings.places([("b", 400), ("a", 300), ("c", 100)])
    changed, removed = standings.changes(before, after)
    assert [(p.resident_id, p.rank, p.score) for p in changed] == [("b", 1, 400), ("a", 2, 300)]
    assert removed == []
    assert standings.changes(before, after[:2])[1] == ["c"]
    assert [standings.tier_for(v) for v in (0, 9_999, 10_000, 120_000)] == [
        "",
        "",
        "bronze",
        "gold",
    ]
