"""Pending transactions for rewards and the time bank: reserve, then commit or void (R4, E4).

- A reservation holds points (yearly → reserved) until it is committed (reserved → the sink's
  system account) or voided (reserved → yearly); never both, and never after it timed out.
- A committed reward redemption is refunded at most once, when its voucher is cancelled or
  expires unused (R4: points are never spent twice): the sink gives the points back to the
  resident's yearly account. Points reserved in an earlier policy year expire instead (P4),
  as a void's do. Lifetime points never move: the commit did not take them either.
- A time-bank transfer (E4) is settled with the other community, never refunded here.
- Points come back once: a refund gives back only what an upheld appeal against the commit
  (P8) has not already compensated, and an appeal about a refunded redemption is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate, new_id
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
)
from linli_points.domain.periods import policy_year
from linli_points.domain.rules import format_points


class Sink(StrEnum):
    """Where committed points go."""

    REWARDS = "rewards"
    TIMEBANK = "timebank"


SINK_ACCOUNT = {Sink.REWARDS: REDEMPTION, Sink.TIMEBANK: TIMEBANK}
COMMIT_RULE = "r4.commit"


class ReservationState(StrEnum):
    """A reservation is pending until it is committed or voided, never both; then refunded once."""

    PENDING = "pending"
    COMMITTED = "committed"
    VOIDED = "voided"
    REFUNDED = "refunded"


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
    refunded_at: datetime | None = None
    refund_reason: str = ""

    def _transaction(
        self,
        rule: str,
        kind: Kind,
        moves: list[tuple[str, Purpose, int]],
        at: datetime,
        why: str,
        amount: int | None = None,
    ) -> LedgerTransaction:
        moved = self.amount if amount is None else amount
        return LedgerTransaction(
            id=new_id("t"),
            community_id=self.community_id,
            source_id=self.id,
            rule_id=rule,
            reason=f"{why} {format_points(moved)} for {self.sink} ({self.memo})",
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
            COMMIT_RULE,
            Kind.COMMIT,
            [
                (self.resident_id, Purpose.RESERVED, -self.amount),
                (SINK_ACCOUNT[self.sink], Purpose.YEARLY, self.amount),
            ],
            at,
            "spent",
        )

    def _returned_to(self, at: datetime) -> tuple[str, Purpose]:
        """Where points given back at an instant go: yearly, or expiry once their year ended."""
        if policy_year(at) == policy_year(self.created_at):
            return self.resident_id, Purpose.YEARLY
        return EXPIRY, Purpose.YEARLY

    def void(self, at: datetime, reason: str) -> LedgerTransaction:
        """Release the points; those reserved in an earlier policy year expire instead (P4)."""
        self._settle(ReservationState.VOIDED, at, reason)
        return self._transaction(
            "r4.void",
            Kind.VOID,
            [
                (self.resident_id, Purpose.RESERVED, -self.amount),
                (*self._returned_to(at), self.amount),
            ],
            at,
            f"released ({reason})",
        )

    def refund(self, at: datetime, reason: str, compensated: int = 0) -> LedgerTransaction:
        """Give a committed redemption's points back once, less what an upheld appeal against
        its commit already gave back (`compensated`); an earlier year's expire (P4)."""
        if self.sink is not Sink.REWARDS:
            raise FailedPrecondition(
                f"reservation {self.id} is a {self.sink} transfer; only redemptions are refunded"
            )
        if self.state is not ReservationState.COMMITTED:
            raise FailedPrecondition(
                f"reservation {self.id} is already refunded"
                if self.state is ReservationState.REFUNDED
                else f"reservation {self.id} is {self.state}; only a committed one is refunded"
            )
        amount = self.amount - compensated
        if amount <= 0:
            raise FailedPrecondition(
                f"reservation {self.id}'s {format_points(self.amount)} were already given back"
                " by an upheld appeal against its commit"
            )
        self.state, self.refunded_at, self.refund_reason = ReservationState.REFUNDED, at, reason
        if compensated:
            reason = f"{reason}, less {format_points(compensated)} an upheld appeal gave back"
        back_to = self._returned_to(at)
        why = (
            f"refunded ({reason})"
            if back_to[0] == self.resident_id
            else f"refunded to expiry, reserved in the ended year {policy_year(self.created_at)}"
            f" ({reason})"
        )
        return self._transaction(
            "r4.refund",
            Kind.REFUND,
            [(SINK_ACCOUNT[self.sink], Purpose.YEARLY, -amount), (*back_to, amount)],
            at,
            why,
            amount,
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
