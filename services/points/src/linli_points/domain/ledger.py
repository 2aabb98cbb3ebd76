"""The double-entry ledger: accounts, postings and balanced transactions (P6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import InvalidArgument

ISSUANCE = "system-issuance"


class Purpose(StrEnum):
    """What an account's points are for."""

    YEARLY = "yearly"
    LIFETIME = "lifetime"


@dataclass(frozen=True, order=True)
class Account:
    """A resident's or the system's account of one purpose in one community."""

    community_id: str
    holder: str
    purpose: Purpose

    @property
    def key(self) -> str:
        """The account's id within its community."""
        return f"{self.holder}:{self.purpose}"


@dataclass(frozen=True)
class Posting:
    """An amount in hundredths of a point moved into (positive) or out of an account."""

    account: Account
    amount: int


@dataclass(frozen=True, kw_only=True)
class PointsAwarded(DomainEvent):
    """Points were credited to a resident."""

    transaction_id: str
    resident_id: str
    amount: int
    rule_id: str
    source_id: str


@dataclass(kw_only=True, eq=False)
class LedgerTransaction(Aggregate):
    """A set of postings that sum to zero, with the reason it was made; never edited."""

    id: str
    community_id: str
    source_id: str
    rule_id: str
    reason: str
    postings: tuple[Posting, ...]
    created_at: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.postings:
            raise InvalidArgument("a transaction needs postings")
        if any(type(p.amount) is not int or p.amount == 0 for p in self.postings):
            raise InvalidArgument("posting amounts are non-zero whole hundredths of a point")
        if sum(p.amount for p in self.postings) != 0:
            raise InvalidArgument("a transaction's postings must sum to zero")
        if any(p.account.community_id != self.community_id for p in self.postings):
            raise InvalidArgument("a transaction stays within one community")

    def amount_for(self, holder: str, purpose: Purpose) -> int:
        """The net amount this transaction moves for one holder's account."""
        return sum(
            p.amount
            for p in self.postings
            if p.account.holder == holder and p.account.purpose == purpose
        )
