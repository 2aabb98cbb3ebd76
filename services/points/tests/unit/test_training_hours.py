"""A course hour is paid once, by the P5 training rule (T3): never P1, never twice; a
correction of it by training reverses the award and pays the corrected duration."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from linli_kit.errors import InvalidArgument
from linli_kit.principals import SYSTEM
from linli_points.domain.ledger import InsufficientPoints, Kind, RuleKind
from linli_points.domain.reservations import Sink
from linli_points.domain.rules import RuleBook, ServiceType, rule_from_dict
from linli_points.service_layer import commands, earning, queries, reservations

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
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


def _corrected(
    event_id: str, previous: int, seconds: int, at: datetime
) -> commands.CorrectTraining:
    return commands.CorrectTraining(
        event_id=event_id,
        community_id=C,
        resident_id="r-alice",
        course=f"communities/{C}/courses/first-aid",
        session=SESSION,
        previous_duration_seconds=previous,
        duration_seconds=seconds,
        occurred_at=at,
    )


def _paid(event_id: str) -> commands.AwardForActivity:
    return dataclasses.replace(_attended(event_id), session=SESSION)


def _yearly(uow) -> int:
    return queries.get_balance(SYSTEM, C, "r-alice", uow).yearly


def test_a_voided_then_corrected_course_session_reverses_and_pays_anew(uow) -> None:
    earning.award_for_activity(_paid("trn-1"), uow)

    voided = earning.correct_training(_corrected("fix-1", 10800, 0, AT + HOUR), uow)
    assert _yearly(uow) == 0
    fixed = earning.correct_training(_corrected("fix-2", 0, 3600, AT + 2 * HOUR), uow)

    assert _yearly(uow) == 100
    ((reversal,), (award,)) = voided, fixed
    assert (reversal.kind, reversal.rule_id, reversal.earned) == (
        Kind.REVERSAL,
        "p5.training",
        -300,
    )
    assert "corrected from 3h00m00s to 0h00m00s" in reversal.reason
    assert (award.kind, award.earned, award.source_id) == (Kind.AWARD, 100, "fix-2")
    assert "attendance corrected from 0h00m00s to 1h00m00s" in award.reason
    assert award.created_at == AT  # dated as the session's first award, like a P1 correction
    assert _earned(uow) == {"p5.training": 100}


def test_a_correction_posts_the_new_award_before_reversing_the_old(uow) -> None:
    earning.award_for_activity(_paid("trn-1"), uow)

    posted = earning.correct_training(_corrected("fix-1", 10800, 5400, AT + HOUR), uow)

    assert [(t.kind, t.earned) for t in posted] == [(Kind.AWARD, 150), (Kind.REVERSAL, -300)]
    assert _yearly(uow) == 150


def test_an_older_correction_arriving_late_changes_nothing(uow) -> None:
    earning.award_for_activity(_paid("trn-1"), uow)
    earning.correct_training(_corrected("fix-2", 10800, 3600, AT + 2 * HOUR), uow)

    late = earning.correct_training(_corrected("fix-1", 10800, 7200, AT + HOUR), uow)

    assert late == [] and _yearly(uow) == 100


def test_a_redelivered_correction_changes_nothing(uow) -> None:
    earning.award_for_activity(_paid("trn-1"), uow)
    earning.correct_training(_corrected("fix-1", 10800, 3600, AT + HOUR), uow)

    again = earning.correct_training(_corrected("fix-1", 10800, 3600, AT + HOUR), uow)

    assert again is None and _yearly(uow) == 100  # the inbox knew it


def test_the_attendance_arriving_after_its_correction_pays_nothing(uow) -> None:
    earning.correct_training(_corrected("fix-1", 10800, 3600, AT + HOUR), uow)

    late = earning.award_for_activity(_paid("trn-1"), uow)

    assert late is None and _earned(uow) == {"p5.training": 100}


def test_a_correction_that_would_overdraw_is_refused_whole(uow) -> None:
    earning.award_for_activity(_paid("trn-1"), uow)
    spend = commands.Reserve(SYSTEM, "x1", C, "r-alice", 250, Sink.REWARDS, "voucher", 600)
    reservations.reserve(spend, uow)

    with pytest.raises(InsufficientPoints):
        earning.correct_training(_corrected("fix-1", 10800, 0, AT + HOUR), uow)

    assert _yearly(uow) == 50 and _earned(uow)["p5.training"] == 300
    # Nothing of it was kept: not even its time, so a later correction still applies.
    earning.correct_training(_corrected("fix-2", 10800, 9000, AT + 2 * HOUR), uow)
    assert _yearly(uow) == 0 and _earned(uow)["p5.training"] == 250
