"""A hypothesis state machine over the points use cases, for any unit of work (fake or SQL)."""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from linli_kit.errors import AlreadyExists, FailedPrecondition, PermissionDenied
from linli_kit.principals import SYSTEM, Kind, Principal, Role
from linli_points.domain.ledger import REDEMPTION, Account, Purpose
from linli_points.domain.periods import policy_year
from linli_points.domain.reservations import ReservationState, Sink
from linli_points.domain.rules import ServiceType
from linli_points.service_layer import appeals, closes, commands, earning, queries, reservations
from linli_points.service_layer.ports import PointsUnitOfWork

RESIDENTS = ("r-ann", "r-bo", "r-cai")
JUDGES = ("r-judge", "r-ann")  # Ann sits on the committee and must never review her own appeal


class LedgerMachine(RuleBasedStateMachine):
    """Awards, reservations, commits, voids, refunds, timeouts, appeals and closes in any order."""

    make_uow: Callable[[], PointsUnitOfWork]

    def __init__(self) -> None:
        super().__init__()
        self.community = f"c-{uuid.uuid4().hex[:10]}"
        self.now = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
        self.count = 0
        self.awards: list[str] = []
        self.reservations: list[str] = []
        self.appeals: list[tuple[str, str]] = []
        self.lifetime: dict[str, int] = defaultdict(int)
        for judge in JUDGES:
            appeals.change_committee(
                commands.ChangeCommittee(self._id(), self.community, judge, True, self.now),
                self.make_uow(),
            )

    def _person(self, resident_id: str, *roles: str) -> Principal:
        """A signed-in resident of the machine's community."""
        subject = f"communities/{self.community}/residents/{resident_id}"
        return Principal(Kind.PERSON, subject, self.community, frozenset(roles))

    def clock(self) -> datetime:
        """The machine's time."""
        return self.now

    def _id(self) -> str:
        self.count += 1
        return f"{self.community}-{self.count}"

    @rule(
        resident=st.sampled_from(RESIDENTS),
        service_type=st.sampled_from(list(ServiceType)),
        minutes=st.integers(0, 300),
    )
    def award(self, resident: str, service_type: ServiceType, minutes: int) -> None:
        """A session completes."""
        event_id = self._id()
        transaction = earning.award_for_session(
            commands.AwardForSession(
                event_id=event_id,
                community_id=self.community,
                resident_id=resident,
                session=f"communities/{self.community}/activities/a/sessions/{event_id}",
                service_type=service_type,
                duration_seconds=minutes * 60,
                signed_in_at=self.now,
            ),
            self.make_uow(),
        )
        if transaction is not None:
            self.awards.append(transaction.id)

    @rule(
        resident=st.sampled_from(RESIDENTS), amount=st.integers(1, 1500), ttl=st.integers(60, 7200)
    )
    def reserve(self, resident: str, amount: int, ttl: int) -> None:
        """A redemption or transfer holds points, or is refused for want of them."""
        try:
            reservation = reservations.reserve(
                commands.Reserve(
                    SYSTEM, self._id(), self.community, resident, amount, Sink.REWARDS, "x", ttl
                ),
                self.make_uow(),
                self.clock,
            )
        except FailedPrecondition:
            return
        self.reservations.append(reservation.id)

    @precondition(lambda self: self.reservations)
    @rule(data=st.data(), commit=st.booleans())
    def settle(self, data: st.DataObject, commit: bool) -> None:
        """A reservation is committed or voided (refused if settled or timed out)."""
        reservation_id = data.draw(st.sampled_from(self.reservations))
        with contextlib.suppress(FailedPrecondition):
            reservations.settle_reservation(
                commands.SettleReservation(
                    SYSTEM, self._id(), self.community, reservation_id, commit
                ),
                self.make_uow(),
                self.clock,
            )

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        """A voucher is cancelled: its redemption is refunded (refused unless committed, once)."""
        reservation_id = data.draw(st.sampled_from(self.reservations))
        with contextlib.suppress(FailedPrecondition):
            reservations.refund_reservation(
                commands.RefundReservation(
                    SYSTEM, self._id(), self.community, reservation_id, "cancelled"
                ),
                self.make_uow(),
                self.clock,
            )

    @rule(hours=st.integers(1, 24 * 10))
    def time_passes(self, hours: int) -> None:
        """Time moves on; forgotten reservations are voided."""
        self.now += timedelta(hours=hours)
        reservations.void_expired(self.make_uow, self.now)

    @precondition(lambda self: self.awards)
    @rule(
        data=st.data(),
        reviewer=st.sampled_from(JUDGES),
        accept=st.booleans(),
        amount=st.integers(1, 500),
    )
    def appeal(self, data: st.DataObject, reviewer: str, accept: bool, amount: int) -> None:
        """A resident appeals an award; a committee member decides (never on their own case)."""
        transaction_id = data.draw(st.sampled_from(self.awards))
        with self.make_uow() as uow:
            disputed = uow.ledger.get(self.community, transaction_id)
        assert disputed is not None
        try:
            appeal = appeals.file_an_appeal(
                commands.FileAppeal(
                    self._person(disputed.resident_id),
                    self._id(),
                    self.community,
                    disputed.resident_id,
                    transaction_id,
                    "why",
                ),
                self.make_uow(),
                self.clock,
            )
        except AlreadyExists:  # an appeal against this transaction is still open
            return
        decide = commands.DecideAppeal(
            self._person(reviewer, Role.COMMITTEE_MEMBER),
            self._id(),
            self.community,
            appeal.id,
            accept,
            "because",
            amount,
        )
        if reviewer == disputed.resident_id:
            with pytest.raises(PermissionDenied):
                appeals.decide_appeal(decide, self.make_uow(), clock=self.clock)
        else:
            appeals.decide_appeal(decide, self.make_uow(), clock=self.clock)

    @rule()
    def close_previous_year(self) -> None:
        """The previous year is closed (again, perhaps, or late)."""
        closes.close_year(
            commands.CloseYear(SYSTEM, "", self.community, policy_year(self.now) - 1),
            self.make_uow(),
            self.clock,
        )

    @rule()
    def close_weeks(self) -> None:
        """Ended weeks are closed."""
        closes.close_periods(
            commands.ClosePeriods(SYSTEM, "", self.community), self.make_uow(), clock=self.clock
        )

    @invariant()
    def points_are_never_spent_twice(self) -> None:
        """The redemption account holds exactly the committed, unrefunded reservations (R4)."""
        with self.make_uow() as uow:
            held = uow.ledger.balance(Account(self.community, REDEMPTION, Purpose.YEARLY))
            states = [uow.reservations.get(self.community, r) for r in self.reservations]
            refunds = [
                t.source_id for t in uow.ledger.find(self.community) if t.rule_id == "r4.refund"
            ]
        assert held == sum(r.amount for r in states if r and r.state is ReservationState.COMMITTED)
        assert len(refunds) == len(set(refunds))
        refunded = {r.id for r in states if r and r.state is ReservationState.REFUNDED}
        assert set(refunds) == refunded

    @invariant()
    def the_books_balance(self) -> None:
        """Sums to zero, balances equal postings, nothing negative, lifetime never decreases."""
        result = queries.verify_ledger(SYSTEM, self.community, self.make_uow())
        assert result.ok, result.breaks
        with self.make_uow() as uow:
            balances = uow.ledger.stored_balances(self.community)
            for transaction in uow.ledger.find(self.community):
                assert sum(p.amount for p in transaction.postings) == 0
        for account, balance in balances.items():
            if not account.is_system:
                assert balance >= 0, account
            if account.purpose is Purpose.LIFETIME and not account.is_system:
                assert balance >= self.lifetime[account.holder]
                self.lifetime[account.holder] = balance
