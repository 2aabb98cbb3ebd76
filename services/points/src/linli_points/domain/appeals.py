"""Appeals against points decisions, reviewed by the supervision committee (P8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from linli_points.domain import rules
from linli_points.domain.ledger import Kind, LedgerTransaction, new_id


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
        rule: rules.EarningRule,
    ) -> LedgerTransaction:
        """Uphold the appeal with a compensating credit to the resident."""
        self._check_reviewer(reviewer, committee, disputed)
        if type(amount) is not int or amount <= 0:
            raise InvalidArgument("an upheld appeal compensates a positive amount")
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


def file_appeal(
    *, resident_id: str, disputed: LedgerTransaction, reason: str, at: datetime
) -> Appeal:
    """A resident's new appeal against a transaction that concerns them."""
    if disputed.resident_id != resident_id:
        raise PermissionDenied("a resident appeals only transactions about themselves")
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
