"""P1 earning rules: hourly rates per service type, pro rata, in hundredths of a point."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli_points.domain.ledger import (
    ISSUANCE,
    Account,
    PointsAwarded,
    Posting,
    Purpose,
    RuleKind,
)
from linli_points.domain.rules import (
    DEFAULT_CATALOG,
    ServiceType,
    award,
    format_points,
    hourly_rule_id,
)

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def hourly_award(service_type: ServiceType, seconds: int) -> int:
    """What the default P1 rule for a service type pays for a duration."""
    rule = DEFAULT_CATALOG.default.hourly(service_type)
    assert rule is not None
    return rule.hourly_amount(seconds)


@pytest.mark.parametrize(
    ("service_type", "seconds", "expected"),
    [
        (ServiceType.REGULAR, 3600, 100),
        (ServiceType.PROFESSIONAL, 3600, 200),
        (ServiceType.HIGH_RISK, 3600, 300),
        (ServiceType.PROFESSIONAL, 2 * 3600, 400),
        (ServiceType.REGULAR, 90 * 60, 150),
        (ServiceType.HIGH_RISK, 59 * 60, 295),
        (ServiceType.HIGH_RISK, 59, 4),
        (ServiceType.HIGH_RISK, 11, 0),
        (ServiceType.HIGH_RISK, 12, 1),
        (ServiceType.REGULAR, 3599, 99),
        (ServiceType.REGULAR, 0, 0),
    ],
)
def test_hourly_award_is_pro_rata_and_rounds_down(
    service_type: ServiceType, seconds: int, expected: int
) -> None:
    assert hourly_award(service_type, seconds) == expected


def test_hourly_award_is_always_an_int() -> None:
    assert type(hourly_award(ServiceType.PROFESSIONAL, 1234)) is int


def test_hourly_rule_id_names_the_service_type() -> None:
    assert hourly_rule_id(ServiceType.HIGH_RISK) == "p1.hourly.high_risk"


def test_award_credits_yearly_and_lifetime_from_issuance() -> None:
    t = award(
        community_id="c-east",
        resident_id="r-alice",
        amount=400,
        rule_id="p1.hourly.x",
        source_id="e1",
        reason="because",
        at=AT,
        rule_kind=RuleKind.SERVICE,
    )

    assert set(t.postings) == {
        Posting(Account("c-east", ISSUANCE, Purpose.YEARLY), -400),
        Posting(Account("c-east", "r-alice", Purpose.YEARLY), 400),
        Posting(Account("c-east", ISSUANCE, Purpose.LIFETIME), -400),
        Posting(Account("c-east", "r-alice", Purpose.LIFETIME), 400),
    }
    assert len(t.postings) == 4
    assert (t.community_id, t.source_id, t.rule_id, t.reason, t.created_at) == (
        "c-east",
        "e1",
        "p1.hourly.x",
        "because",
        AT,
    )


def test_award_records_one_points_awarded_event() -> None:
    t = award(
        community_id="c-east",
        resident_id="r-alice",
        amount=150,
        rule_id="p1.hourly.x",
        source_id="e1",
        reason="because",
        at=AT,
        rule_kind=RuleKind.SERVICE,
    )

    assert t.events == [
        PointsAwarded(
            community_id="c-east",
            occurred_at=AT,
            transaction_id=t.id,
            resident_id="r-alice",
            amount=150,
            rule_id="p1.hourly.x",
            source_id="e1",
        )
    ]


def test_each_award_gets_its_own_transaction_id() -> None:
    ids = {
        award(
            community_id="c-east",
            resident_id="r-alice",
            amount=1,
            rule_id="r",
            source_id="e",
            reason="x",
            at=AT,
            rule_kind=RuleKind.SERVICE,
        ).id
        for _ in range(3)
    }

    assert len(ids) == 3


@pytest.mark.parametrize(
    ("centipoints", "text"),
    [(1234, "12.34"), (5, "0.05"), (0, "0.00"), (300, "3.00"), (-150, "-1.50"), (-5, "-0.05")],
)
def test_format_points(centipoints: int, text: str) -> None:
    assert format_points(centipoints) == text
