"""Appeals against points decisions, reviewed by the supervision committee (P8).

The committee is who identity says holds the committee_member role (points keeps it from
identity's grants and revocations); nobody decides their own case or their own decision.
An upheld appeal compensates at most what the appealed decision could have been
(`compensation_ceiling`): a decision that took points is undone at most in full; an award
that paid too little is topped up at most to what its rule pays for one decision (a fixed
amount, or a full day's hours under the rule's daily cap, with the transaction's rating).
The community's appeal rule, when it names an amount, caps every compensation too.
A spend whose redemption was refunded is neither appealed nor compensated: its points came
back (R4), so an upheld appeal would pay them twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate, new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from linli_points.domain import rules
from linli_points.domain.ledger import Kind, LedgerTransaction, Purpose, RuleKind
from linli_points.domain.reservations import Reservation, ReservationState

SECONDS_PER_DAY = 86_400


class AppealStatus(StrEnum):
    """Where an appeal stands; the resident sees it."""

    FILED = "filed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(kw_only=True, eq=False)
class Appeal(Aggregate):
    """A resident's dispute of one transaction, and the committee's decision."""

    id: str
    community_id: str
    resident_id: str
    transaction_id: str
    reason: str
    filed_at: datetime
    status: AppealStatus = AppealStatus.FILED
    reviewer: str = ""
    decision_reason: str = ""
    decided_at: datetime | None = None
    compensation_amount: int = 0
    compensation_transaction_id: str = ""

    def _check_reviewer(
        self, reviewer: str, committee: set[str], disputed: LedgerTransaction
    ) -> None:
        if self.status is not AppealStatus.FILED:
            raise FailedPrecondition(f"appeal {self.id} was already {self.status}")
        if reviewer not in committee:
            raise PermissionDenied(f"{reviewer} is not on the supervision committee")
        # Separation of duties: nobody decides their own case or reviews their own decision.
        if reviewer == self.resident_id:
            raise PermissionDenied("nobody reviews their own appeal")
        if disputed.actor and reviewer == disputed.actor:
            raise PermissionDenied("nobody reviews an appeal against their own decision")

    def accept(
        self,
        *,
        reviewer: str,
        reason: str,
        amount: int,
        at: datetime,
        committee: set[str],
        disputed: LedgerTransaction,
        book: rules.RuleBook,
        redemption: Reservation | None = None,
    ) -> LedgerTransaction:
        """Uphold the appeal with a compensating credit to the resident, within the ceiling;
        never for a spend whose redemption (the reservation it committed) was refunded."""
        self._check_reviewer(reviewer, committee, disputed)
        require_not_refunded(redemption)
        rule = book.one(RuleKind.APPEAL)
        if rule is None:
            raise InvalidArgument("this community has no appeal compensation rule")
        if type(amount) is not int or amount <= 0:
            raise InvalidArgument("an upheld appeal compensates a positive amount")
        ceiling = compensation_ceiling(disputed, book)
        if amount > ceiling:
            raise InvalidArgument(
                f"the compensation {amount} exceeds what the appealed decision could have been"
                f" ({ceiling} hundredths)"
            )
        transaction = rules.award(
            community_id=self.community_id,
            resident_id=self.resident_id,
            amount=amount,
            rule_id=rule.id,
            source_id=self.id,
            reason=(f"appeal {self.id} upheld against transaction {self.transaction_id}: {reason}"),
            at=at,
            rule_kind=rule.kind,
            kind=Kind.COMPENSATION,
            actor=reviewer,
        )
        self.status, self.reviewer, self.decision_reason = AppealStatus.ACCEPTED, reviewer, reason
        self.decided_at, self.compensation_amount = at, amount
        self.compensation_transaction_id = transaction.id
        return transaction

    def reject(
        self,
        *,
        reviewer: str,
        reason: str,
        at: datetime,
        committee: set[str],
        disputed: LedgerTransaction,
    ) -> None:
        """Turn the appeal down; the reason is kept for the resident."""
        self._check_reviewer(reviewer, committee, disputed)
        if not reason.strip():
            raise InvalidArgument("a rejected appeal needs a reason")
        self.status, self.reviewer, self.decision_reason = AppealStatus.REJECTED, reviewer, reason
        self.decided_at = at


def _most_one_decision(rule_id: str, book: rules.RuleBook) -> int:
    """The most one transaction of a rule may pay (a rated award names its rating rule too)."""
    base, *ratings = rule_id.split("+")
    rule = book.by_id.get(base)
    if rule is None:
        return 0
    most = rule.amount or rule.points_cap_per_day or rule.hourly_amount(SECONDS_PER_DAY)
    for rating_id in ratings:
        rating = book.by_id.get(rating_id)
        if rating is not None and rating.coefficient_percent > 100:
            most = most * rating.coefficient_percent // 100
    return most


def compensation_ceiling(disputed: LedgerTransaction, book: rules.RuleBook) -> int:
    """The most an upheld appeal against the transaction may compensate, in hundredths."""
    resident = disputed.resident_id
    spendable = disputed.amount_for(resident, Purpose.YEARLY) + disputed.amount_for(
        resident, Purpose.RESERVED
    )
    if spendable < 0:
        ceiling = -spendable
    else:
        ceiling = max(0, _most_one_decision(disputed.rule_id, book) - spendable)
    appeal_rule = book.one(RuleKind.APPEAL)
    if appeal_rule is not None and appeal_rule.amount:
        return min(ceiling, appeal_rule.amount)
    return ceiling


def require_not_refunded(redemption: Reservation | None) -> None:
    """Refuse an appeal about a spend whose redemption was refunded: its points came back."""
    if redemption is not None and redemption.state is ReservationState.REFUNDED:
        when = redemption.refunded_at.date().isoformat() if redemption.refunded_at else ""
        raise FailedPrecondition(
            f"redemption {redemption.id} was refunded on {when} ({redemption.refund_reason}):"
            " its points came back, so there is nothing left to compensate"
        )


def file_appeal(
    *,
    resident_id: str,
    disputed: LedgerTransaction,
    reason: str,
    at: datetime,
    redemption: Reservation | None = None,
) -> Appeal:
    """A resident's new appeal against a transaction that concerns them (not a refunded spend)."""
    if disputed.resident_id != resident_id:
        raise PermissionDenied("a resident appeals only transactions about themselves")
    require_not_refunded(redemption)
    if not reason.strip():
        raise InvalidArgument("an appeal needs a reason")
    return Appeal(
        id=new_id("a"),
        community_id=disputed.community_id,
        resident_id=resident_id,
        transaction_id=disputed.id,
        reason=reason,
        filed_at=at,
    )
