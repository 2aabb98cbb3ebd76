"""One resident's year replayed from the policy text (P1-P4, P6, P8), checking every number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli_kit.errors import InvalidArgument
from linli_kit.principals import SYSTEM, Role
from linli_kit.testing import load_beside
from linli_points.domain.ledger import EXPIRY, ISSUANCE, REDEMPTION, Account, Kind, Purpose
from linli_points.domain.periods import year_bounds
from linli_points.domain.reservations import Sink
from linli_points.domain.rules import ServiceType
from linli_points.service_layer import appeals, closes, commands, earning, queries, reservations

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")
C, LI, MEMBER = "c-east", "r-li", "r-committee"
MONDAY = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # 09:00 on Monday 5 January in Asia/Shanghai


def at(when: datetime):
    """A clock stopped at one instant."""
    return lambda: when


def serve(uow, n: int, week: int, hours: int, service_type=ServiceType.REGULAR):
    """A SessionCompleted for Li in the given week (1 = the week of 5 January)."""
    return earning.award_for_session(
        commands.AwardForSession(
            event_id=f"e{n}",
            community_id=C,
            resident_id=LI,
            session=f"communities/{C}/activities/a{n}/sessions/s{n}",
            service_type=service_type,
            duration_seconds=hours * 3600,
            signed_in_at=MONDAY + timedelta(weeks=week - 1, hours=hours),
        ),
        uow,
    )


def balance(uow) -> queries.Balance:
    """Li's balances."""
    return queries.get_balance(SYSTEM, C, LI, uow)


def test_a_year_of_service_from_first_shift_to_year_end(uow) -> None:
    # First service: 2 h of regular service (P1: 1 point an hour).
    first = serve(uow, 1, week=1, hours=2)
    assert first.earned == 200 and first.rule_id == "p1.hourly.regular"
    # One more hour of regular service in each of the next nine weeks: a 10-week streak.
    for week in range(2, 11):
        serve(uow, week, week=week, hours=1)
    assert balance(uow).yearly == 200 + 9 * 100

    # A 3 h high-risk shift (P1: 3 an hour) in week 10, rated 5 stars (P3: +10 %).
    shift = serve(uow, 11, week=10, hours=3, service_type=ServiceType.HIGH_RISK)
    assert shift.earned == 900
    rating = earning.rate_session(
        commands.RateSession(
            event_id="rating-1",
            community_id=C,
            resident_id=LI,
            session=shift.session,
            stars=5,
            occurred_at=MONDAY + timedelta(weeks=9, hours=5),
        ),
        uow,
    )
    assert rating.earned == 90
    assert rating.coefficient_percent == 110
    assert rating.rule_id == "p1.hourly.high_risk+p3.rating.5"
    assert shift.id in rating.reason and "1.10" in rating.reason

    # Weeks close (P2): +5 for the first participation, +10 for the 10-week streak.
    run = closes.close_periods(
        commands.ClosePeriods(SYSTEM, "", C), uow, clock=at(MONDAY + timedelta(weeks=10))
    )
    bonuses = closes.posted_by(uow, run)
    assert sorted((t.rule_id, t.earned) for t in bonuses) == [
        ("p2.first_participation", 500),
        ("p2.streak.10w", 1000),
    ]
    again = closes.close_periods(
        commands.ClosePeriods(SYSTEM, "", C), uow, clock=at(MONDAY + timedelta(weeks=20))
    )
    assert again.transaction_ids == ()
    assert balance(uow).yearly == 1100 + 900 + 90 + 1500

    # A redemption reserves 10 points, then the partner commits it (R4).
    reservation = reservations.reserve(
        commands.Reserve(
            actor=SYSTEM,
            request_id="order-7",
            community_id=C,
            resident_id=LI,
            amount=1000,
            sink=Sink.REWARDS,
            memo="supermarket voucher",
            ttl_seconds=600,
        ),
        uow,
        clock=at(MONDAY + timedelta(weeks=11)),
    )
    assert balance(uow) == queries.Balance(yearly=2590, lifetime=3590, reserved=1000)
    reservations.settle_reservation(
        commands.SettleReservation(
            actor=SYSTEM,
            request_id="commit-7",
            community_id=C,
            reservation_id=reservation.id,
            commit=True,
        ),
        uow,
        clock=at(MONDAY + timedelta(weeks=11, minutes=5)),
    )
    assert balance(uow) == queries.Balance(yearly=2590, lifetime=3590, reserved=0)

    # Li appeals the shift's award; a committee member upholds it with 3 points (P8).
    appeals.change_committee(
        commands.ChangeCommittee(
            event_id="granted-1",
            community_id=C,
            resident_id=MEMBER,
            member=True,
            occurred_at=MONDAY,
        ),
        uow,
    )
    appeal = appeals.file_an_appeal(
        commands.FileAppeal(
            actor=fakes.person(C, LI),
            request_id="a1",
            community_id=C,
            resident_id=LI,
            transaction_id=shift.id,
            reason="the shift ran an hour over",
        ),
        uow,
        clock=at(MONDAY + timedelta(weeks=12)),
    )
    decided = appeals.decide_appeal(
        commands.DecideAppeal(
            actor=fakes.person(C, MEMBER, Role.COMMITTEE_MEMBER),
            request_id="d1",
            community_id=C,
            appeal_id=appeal.id,
            accept=True,
            reason="sign-out was recorded late by staff",
            amount=300,
        ),
        uow,
        clock=at(MONDAY + timedelta(weeks=13)),
    )
    assert decided.status == "accepted" and decided.compensation_amount == 300
    assert balance(uow) == queries.Balance(yearly=2890, lifetime=3890)

    # Year end (P4): the unspent yearly points expire by posting; lifetime stays.
    expired = closes.posted_by(
        uow,
        closes.close_year(
            commands.CloseYear(actor=SYSTEM, request_id="", community_id=C, year=2026),
            uow,
            clock=at(datetime(2027, 1, 3, tzinfo=UTC)),
        ),
    )
    assert [(t.resident_id, -t.amount_for(LI, Purpose.YEARLY)) for t in expired] == [(LI, 2890)]
    assert balance(uow) == queries.Balance(yearly=0, lifetime=3890)
    late = closes.close_year(
        commands.CloseYear(actor=SYSTEM, request_id="", community_id=C, year=2026),
        uow,
        clock=at(datetime(2027, 2, 1, tzinfo=UTC)),
    )
    assert late.transaction_ids == ()

    ledger = uow.ledger
    assert ledger.balance(Account(C, EXPIRY, Purpose.YEARLY)) == 2890
    assert ledger.balance(Account(C, REDEMPTION, Purpose.YEARLY)) == 1000
    assert ledger.balance(Account(C, ISSUANCE, Purpose.LIFETIME)) == -3890
    assert all(sum(p.amount for p in t.postings) == 0 for t in ledger.transactions)
    kinds = [t.kind for t in ledger.transactions]
    assert kinds.count(Kind.AWARD) == 14 and kinds.count(Kind.COMPENSATION) == 1
    assert queries.verify_ledger(SYSTEM, C, uow).ok


@pytest.mark.parametrize("year", [1, 9999, -5])
def test_a_year_whose_bounds_no_timestamp_can_hold_is_refused(year: int) -> None:
    with pytest.raises(InvalidArgument, match="year must be 2 to 9998"):
        year_bounds(year)
