"""Pending transactions for rewards and the time bank: reserve, then commit or void (R4, E4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_points.domain.ledger import (
    EXPIRY,
    REDEMPTION,
    TIMEBANK,
    Account,
    Kind,
    LedgerTransaction,
    Posting,
    Purpose,
    new_id,
)
from linli_points.domain.periods import policy_year
from linli_points.domain.rules import format_points


class Sink(StrEnum):
    """Where committed points go."""

    REWARDS = "rewards"
    TIMEBANK = "timebank"


SINK_ACCOUNT = {Sink.REWARDS: REDEMPTION, Sink.TIMEBANK: TIMEBANK}


class ReservationState(StrEnum):
    """A reservation is pending until it is committed or voided, never both."""

    PENDING = "pending"
    COMMITTED = "committed"
    VOIDED = "voided"


@dataclass(kw_only=True, eq=False)
class Reservation(Aggregate):
    """Points held for a redemption or transfer until it is settled or times out."""

    id: str
    community_id: str
    resident_id: str
    amount: int
    sink: Sink
    memo: str
    created_at: datetime
    expires_at: datetime
    state: ReservationState = ReservationState.PENDING
    settled_at: datetime | None = None
    settle_reason: str = ""

    def _transaction(
        self, rule: str, kind: Kind, moves: list[tuple[str, Purpose, int]], at: datetime, why: str
    ) -> LedgerTransaction:
        return LedgerTransaction(
            id=new_id("t"),
            community_id=self.community_id,
            source_id=self.id,
            rule_id=rule,
            reason=f"{why} {format_points(self.amount)} for {self.sink} ({self.memo})",
            postings=tuple(
                Posting(Account(self.community_id, holder, purpose), amount)
                for holder, purpose, amount in moves
            ),
            created_at=at,
            kind=kind,
            resident_id=self.resident_id,
        )

    def hold(self) -> LedgerTransaction:
        """Move the amount from the spendable to the reserved account."""
        return self._transaction(
            "r4.reserve",
            Kind.RESERVE,
            [
                (self.resident_id, Purpose.YEARLY, -self.amount),
                (self.resident_id, Purpose.RESERVED, self.amount),
            ],
            self.created_at,
            "reserved",
        )

    def _settle(self, state: ReservationState, at: datetime, reason: str) -> None:
        if self.state is not ReservationState.PENDING:
            raise FailedPrecondition(f"reservation {self.id} is already {self.state}")
        self.state, self.settled_at, self.settle_reason = state, at, reason

    def commit(self, at: datetime) -> LedgerTransaction:
        """Spend the reserved points; refused once the reservation has timed out."""
        if at >= self.expires_at:
            raise FailedPrecondition(f"reservation {self.id} expired at {self.expires_at}")
        self._settle(ReservationState.COMMITTED, at, "committed")
        return self._transaction(
            "r4.commit",
            Kind.COMMIT,
            [
                (self.resident_id, Purpose.RESERVED, -self.amount),
                (SINK_ACCOUNT[self.sink], Purpose.YEARLY, self.amount),
            ],
            at,
            "spent",
        )

    def void(self, at: datetime, reason: str) -> LedgerTransaction:
        """Release the points; those reserved in an earlier policy year expire instead (P4)."""
        self._settle(ReservationState.VOIDED, at, reason)
        back_to = (
            (self.resident_id, Purpose.YEARLY)
            if policy_year(at) == policy_year(self.created_at)
            else (EXPIRY, Purpose.YEARLY)
        )
        return self._transaction(
            "r4.void",
            Kind.VOID,
            [(self.resident_id, Purpose.RESERVED, -self.amount), (*back_to, self.amount)],
            at,
            f"released ({reason})",
        )


def open_reservation(
    *,
    community_id: str,
    resident_id: str,
    amount: int,
    sink: Sink,
    memo: str,
    at: datetime,
    expires_at: datetime,
) -> Reservation:
    """A new pending reservation of a positive amount."""
    if type(amount) is not int or amount <= 0:
        raise InvalidArgument("a reservation holds a positive whole number of hundredths")
    if expires_at <= at:
        raise InvalidArgument("a reservation must expire after it is made")
    return Reservation(
        id=new_id("r"),
        community_id=community_id,
        resident_id=resident_id,
        amount=amount,
        sink=sink,
        memo=memo,
        created_at=at,
        expires_at=expires_at,
    )
