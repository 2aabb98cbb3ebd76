"""Earning rules from the policy text; amounts in hundredths of a point (P1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from linli_points.domain.ledger import (
    ISSUANCE,
    Account,
    LedgerTransaction,
    PointsAwarded,
    Posting,
    Purpose,
)

SECONDS_PER_HOUR = 3600


class ServiceType(StrEnum):
    """The kind of service rendered, which sets the hourly rate."""

    REGULAR = "regular"
    PROFESSIONAL = "professional"
    HIGH_RISK = "high_risk"


# P1: 1 point an hour for regular service, 2 for professional skills, 3 for high-risk work.
HOURLY_RATE = {
    ServiceType.REGULAR: 100,
    ServiceType.PROFESSIONAL: 200,
    ServiceType.HIGH_RISK: 300,
}


def hourly_award(service_type: ServiceType, duration_seconds: int) -> int:
    """Points for a service: part hours count pro rata, rounded down to a hundredth of a point."""
    return duration_seconds * HOURLY_RATE[service_type] // SECONDS_PER_HOUR


def hourly_rule_id(service_type: ServiceType) -> str:
    """The id of the P1 rule for a service type."""
    return f"p1.hourly.{service_type}"


def award(
    *,
    community_id: str,
    resident_id: str,
    amount: int,
    rule_id: str,
    source_id: str,
    reason: str,
    at: datetime,
) -> LedgerTransaction:
    """Credit a resident's yearly and lifetime accounts from the issuance accounts."""
    postings = tuple(
        Posting(Account(community_id, holder, purpose), sign * amount)
        for purpose in (Purpose.YEARLY, Purpose.LIFETIME)
        for holder, sign in ((ISSUANCE, -1), (resident_id, 1))
    )
    transaction = LedgerTransaction(
        id=uuid.uuid4().hex,
        community_id=community_id,
        source_id=source_id,
        rule_id=rule_id,
        reason=reason,
        postings=postings,
        created_at=at,
    )
    transaction.events.append(
        PointsAwarded(
            community_id=community_id,
            occurred_at=at,
            transaction_id=transaction.id,
            resident_id=resident_id,
            amount=amount,
            rule_id=rule_id,
            source_id=source_id,
        )
    )
    return transaction


def format_points(centipoints: int) -> str:
    """Hundredths of a point as text, e.g. 1234 -> '12.34'."""
    sign = "-" if centipoints < 0 else ""
    whole, cents = divmod(abs(centipoints), 100)
    return f"{sign}{whole}.{cents:02d}"
