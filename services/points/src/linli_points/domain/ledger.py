"""The double-entry ledger: accounts, postings and balanced transactions (P6)."""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate, DomainEvent, new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument

SYSTEM_PREFIX = "system-"
ISSUANCE = "system-issuance"
EXPIRY = "system-expiry"
REDEMPTION = "system-redemption"
TIMEBANK = "system-timebank"


class Purpose(StrEnum):
    """What an account's points are for."""

    YEARLY = "yearly"
    LIFETIME = "lifetime"
    RESERVED = "reserved"


class Kind(StrEnum):
    """Why a transaction moves points; earnings count towards rank, the others do not."""

    AWARD = "award"
    REVERSAL = "reversal"
    COMPENSATION = "compensation"
    RESERVE = "reserve"
    COMMIT = "commit"
    VOID = "void"
    REFUND = "refund"
    EXPIRY = "expiry"
    TRANSFER = "transfer"  # E4: points received from a peer community


EARNING_KINDS = frozenset({Kind.AWARD, Kind.REVERSAL, Kind.COMPENSATION})


class RuleKind(StrEnum):
    """What an earning rule pays for; stored on every transaction a rule posts."""

    SERVICE = "service"  # P1: per hour of completed service, by service type
    FIRST_PARTICIPATION = "first_participation"  # P2: once per resident
    STREAK = "streak"  # P2: every full run of `streak_periods` consecutive weeks with service
    RATING = "rating"  # P3: scales a rated session's award to coefficient_percent
    MENTORING = "mentoring"  # P5 (O2): a successful mentoring pair
    PROJECT_LEAD = "project_lead"  # P5 (O4): a lead promoted to star administrator
    TRAINING = "training"  # P5 (T3): per hour of training attended
    TRAINING_LEVEL = "training_level"  # P5 (T3): a promotion to a volunteer level
    EMERGENCY = "emergency"  # P5: per response to an emergency activity, on top of P1
    APPEAL = "appeal"  # P8: compensation decided by the committee


class InsufficientPoints(FailedPrecondition):
    """A resident's spendable or reserved balance would go below zero."""


@dataclass(frozen=True, order=True, slots=True)
class Account:
    """A resident's or the system's account of one purpose in one community."""

    community_id: str
    holder: str
    purpose: Purpose

    @property
    def key(self) -> str:
        """The account's id within its community."""
        return f"{self.holder}:{self.purpose}"

    @property
    def is_system(self) -> bool:
        """System accounts mirror the residents' and may go negative; residents' may not."""
        return self.holder.startswith(SYSTEM_PREFIX)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, kw_only=True)
class AwardReversed(DomainEvent):
    """An earlier award to a resident was reversed (a correction, never an edit)."""

    transaction_id: str
    reversed_transaction_id: str
    resident_id: str
    amount: int


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
    kind: Kind = Kind.AWARD
    # The resident the transaction is about, the session it awards, the transaction it reverses.
    resident_id: str = ""
    session: str = ""
    reverses: str = ""
    coefficient_percent: int = 100
    actor: str = ""
    # The kind of the earning rule that posted it (a reversal keeps the original's); None for
    # reservations and expiries, which no earning rule posts.
    rule_kind: RuleKind | None = None
    # Off only when reading stored rows: a tampered row must load so that the audit reports it.
    validate: InitVar[bool] = True

    def __post_init__(self, validate: bool) -> None:
        if not validate:
            return
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

    @property
    def earned(self) -> int:
        """What this transaction adds to its resident's earnings (rank and lifetime)."""
        if self.kind not in EARNING_KINDS or not self.resident_id:
            return 0
        return self.amount_for(self.resident_id, Purpose.LIFETIME)


def reversal_of(
    original: LedgerTransaction, *, reason: str, at: datetime, actor: str = ""
) -> LedgerTransaction:
    """A transaction that undoes another by posting (never by editing it), under its rule id."""
    if original.kind not in EARNING_KINDS:
        raise FailedPrecondition(f"a {original.kind} transaction is not reversed, it is settled")
    reversal = LedgerTransaction(
        id=new_id("t"),
        community_id=original.community_id,
        source_id=original.id,
        rule_id=original.rule_id,
        reason=reason,
        postings=tuple(Posting(p.account, -p.amount) for p in original.postings),
        created_at=at,
        kind=Kind.REVERSAL,
        resident_id=original.resident_id,
        session=original.session,
        reverses=original.id,
        actor=actor,
        rule_kind=original.rule_kind,
    )
    reversal.events.append(
        AwardReversed(
            community_id=original.community_id,
            occurred_at=at,
            transaction_id=reversal.id,
            reversed_transaction_id=original.id,
            resident_id=original.resident_id,
            amount=-reversal.earned,
        )
    )
    return reversal


def check_spendable(balances: dict[Account, int]) -> None:
    """Refuse any resident account below zero: no negative spendable balance, ever."""
    for account, balance in sorted(balances.items()):
        if balance < 0 and not account.is_system:
            raise InsufficientPoints(
                f"{account.holder} has {-balance} hundredths too few {account.purpose} points"
            )
