"""A course hour is paid once, by the P5 training rule (T3): never P1, never twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linli_kit.errors import InvalidArgument
from linli_points.domain.ledger import RuleKind
from linli_points.domain.rules import RuleBook, ServiceType, rule_from_dict
from linli_points.service_layer import commands, earning

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
C = "c-east"
SESSION = f"communities/{C}/activities/a1/sessions/s1"


def _completed(event_id: str, service_type: ServiceType) -> commands.AwardForSession:
    return commands.AwardForSession(
        event_id=event_id,
        community_id=C,
        resident_id="r-alice",
        session=SESSION,
        service_type=service_type,
        duration_seconds=3 * 3600,
        signed_in_at=AT,
        activity=f"communities/{C}/activities/a1",
    )


def _attended(event_id: str) -> commands.AwardForActivity:
    return commands.AwardForActivity(
        event_id=event_id,
        community_id=C,
        resident_id="r-alice",
        kind=RuleKind.TRAINING,
        subject=f"attended communities/{C}/courses/first-aid in {SESSION}",
        occurred_at=AT,
        duration_seconds=3 * 3600,
    )


def _earned(uow) -> dict[str, int]:
    totals: dict[str, int] = {}
    for transaction in uow.ledger.find(C, resident_id="r-alice"):
        totals[transaction.rule_id] = totals.get(transaction.rule_id, 0) + transaction.earned
    return totals


def test_a_course_hour_never_earns_both_p1_and_p5(uow) -> None:
    # Attendance's SessionCompleted of the training activity, then training's TrainingAttended.
    p1 = earning.award_for_session(_completed("att-1", ServiceType.TRAINING), uow)
    p5 = earning.award_for_activity(_attended("trn-1"), uow)

    assert p1 is None
    assert (p5.rule_id, p5.earned) == ("p5.training", 300)
    assert _earned(uow) == {"p5.training": 300}


def test_the_same_hours_as_regular_service_earn_p1_only(uow) -> None:
    # The control: the rule above is about the training type, not about the event.
    earning.award_for_session(_completed("att-2", ServiceType.REGULAR), uow)

    assert _earned(uow) == {"p1.hourly.regular": 300}


def test_a_redelivered_event_changes_nothing(uow) -> None:
    earning.award_for_activity(_attended("trn-1"), uow)
    earning.award_for_session(_completed("att-1", ServiceType.TRAINING), uow)
    before = _earned(uow)

    again = earning.award_for_activity(_attended("trn-1"), uow)
    earning.award_for_session(_completed("att-1", ServiceType.TRAINING), uow)

    assert again is None
    assert _earned(uow) == before == {"p5.training": 300}


def test_a_promotion_earns_the_training_level_rule_once(uow) -> None:
    promoted = commands.AwardForActivity(
        "lvl-1", C, "r-alice", RuleKind.TRAINING_LEVEL, "promoted to 一星志愿者", AT
    )

    first = earning.award_for_activity(promoted, uow)
    again = earning.award_for_activity(promoted, uow)

    assert (first.rule_id, first.earned, again) == ("p5.training_level", 500, None)


def test_a_rule_book_never_pays_training_at_a_p1_rate() -> None:
    rule = rule_from_dict(
        {"id": "p1.hourly.training", "activity_kind": "service", "service_type": "training"}
    )
    with pytest.raises(InvalidArgument, match="P5 training rule"):
        RuleBook([rule])
