"""Earning rules as data (P1-P3, P5), corrections and ratings against the in-memory unit of work."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_kit.principals import SYSTEM
from linli_points.config import PointsSettings
from linli_points.domain.ledger import Kind, RuleKind
from linli_points.domain.reservations import Sink
from linli_points.domain.rules import (
    DEFAULT_CATALOG,
    ServiceType,
    catalog_from_config,
)
from linli_points.service_layer import commands, earning, queries, reservations

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
C = "c-east"
SESSION = f"communities/{C}/activities/a1/sessions/s1"

HELM_RULES = [
    {
        "id": "p1.hourly.regular",
        "activity_kind": "service",
        "service_type": "regular",
        "points_per_hour": 150,
        "coefficient_percent": 100,
        "daily_cap": 400,
    },
    {
        "id": "p1.hourly.high_risk",
        "activity_kind": "service",
        "service_type": "high_risk",
        "points_per_hour": 300,
        "coefficient_percent": 120,
        "daily_cap": 0,
    },
    {"id": "p3.rating.4", "activity_kind": "rating", "stars": 4, "coefficient_percent": 105},
    {"id": "p5.emergency", "activity_kind": "emergency", "amount": 200},
]


def completed(
    event_id="e1", hours=2.0, service_type=ServiceType.REGULAR, session=SESSION, at=AT, activity=""
) -> commands.AwardForSession:
    """A SessionCompleted command for Alice."""
    return commands.AwardForSession(
        event_id=event_id,
        community_id=C,
        resident_id="r-alice",
        session=session,
        service_type=service_type,
        duration_seconds=int(hours * 3600),
        signed_in_at=at,
        activity=activity,
    )


def corrected(
    event_id="k1", hours=1.0, service_type=ServiceType.REGULAR, at=AT + timedelta(days=1)
) -> commands.CorrectSession:
    """A SessionCorrected command for Alice's session."""
    return commands.CorrectSession(
        event_id=event_id,
        community_id=C,
        resident_id="r-alice",
        session=SESSION,
        activity="",
        service_type=service_type,
        duration_seconds=int(hours * 3600),
        corrected_by="r-staff",
        reason="left early",
        occurred_at=at,
    )


def rated(event_id="q1", stars=5, resident="r-alice") -> commands.RateSession:
    """A SessionRated command for Alice's session."""
    return commands.RateSession(
        event_id=event_id,
        community_id=C,
        resident_id=resident,
        session=SESSION,
        stars=stars,
        occurred_at=AT + timedelta(hours=3),
    )


def yearly(uow) -> int:
    """Alice's spendable points."""
    return queries.get_balance(SYSTEM, C, "r-alice", uow).yearly


def test_the_helm_shape_configures_rates_caps_and_coefficients(uow) -> None:
    catalog = catalog_from_config(HELM_RULES)

    first = earning.award_for_session(completed("e1", hours=2), uow, catalog)
    second = earning.award_for_session(completed("e2", hours=2, session="s2"), uow, catalog)
    third = earning.award_for_session(completed("e3", hours=1, session="s3"), uow, catalog)
    risky = earning.award_for_session(
        completed("e4", hours=1, service_type=ServiceType.HIGH_RISK, session="s4"), uow, catalog
    )

    assert first.earned == 300
    assert second.earned == 100  # the 4-point daily cap leaves 1 point of the 3 earned
    assert third is None
    assert risky.earned == 360 and risky.coefficient_percent == 120
    assert "3.00/h × 1.20" in risky.reason
    assert (
        earning.award_for_session(
            completed("e5", service_type=ServiceType.PROFESSIONAL, session="s5"), uow, catalog
        )
        is None
    )  # this community does not pay for professional service


def test_a_cap_counts_per_local_day(uow) -> None:
    catalog = catalog_from_config(HELM_RULES)
    earning.award_for_session(completed("e1", hours=4), uow, catalog)
    next_day = earning.award_for_session(
        completed("e2", hours=4, session="s2", at=AT + timedelta(days=1)), uow, catalog
    )

    assert next_day.earned == 400


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([{"id": "x", "activity_kind": "bogus"}], "activity_kind must be one of"),
        ([{"id": "p1.x", "activity_kind": "service", "service_type": "heroic"}], "service_type"),
        ([{"id": "hourly", "activity_kind": "service", "service_type": "regular"}], "start with"),
        ([{"id": "a", "activity_kind": "mentoring", "amount": -5}], "whole number >= 0"),
        ([{"id": "a", "activity_kind": "mentoring", "amount": 1.5}], "whole number >= 0"),
        ([{"id": "a", "activity_kind": "mentoring", "points": 5}], "unknown rule keys: points"),
        (
            [{"id": "a", "activity_kind": "training"}, {"id": "a", "activity_kind": "training"}],
            "unique",
        ),
    ],
)
def test_bad_rule_configuration_is_refused(config, message) -> None:
    with pytest.raises(InvalidArgument, match=message):
        catalog_from_config(config)


def test_an_empty_list_from_the_chart_means_the_policy_defaults() -> None:
    assert catalog_from_config([]) is DEFAULT_CATALOG
    assert catalog_from_config({}) is DEFAULT_CATALOG


def test_the_charts_activity_kinds_are_refused_at_start() -> None:
    chart = [{"id": "routine-patrol", "activity_kind": "routine", "service_type": "safety-patrol"}]

    with pytest.raises(InvalidArgument, match="activity_kind must be one of"):
        catalog_from_config(chart)


def test_rules_per_community_fall_back_to_the_star_entry() -> None:
    catalog = catalog_from_config({"c-west": HELM_RULES, "*": HELM_RULES[:1]})

    assert catalog.for_community("c-west").hourly(ServiceType.HIGH_RISK) is not None
    assert catalog.for_community("c-east").hourly(ServiceType.HIGH_RISK) is None


def test_changing_a_rule_never_rewrites_past_awards(uow) -> None:
    before = earning.award_for_session(completed("e1"), uow)
    earning.award_for_session(
        completed("e2", session="s2", at=AT + timedelta(days=1)),
        uow,
        catalog_from_config(HELM_RULES),
    )

    kept = uow.ledger.get(C, before.id)
    assert kept.earned == 200 and "1.00/h" in kept.reason
    assert yearly(uow) == 200 + 300


def test_a_correction_reverses_the_award_and_awards_again(uow) -> None:
    award = earning.award_for_session(completed(hours=2), uow)

    posted = earning.correct_session(corrected(hours=1), uow)

    assert [t.kind for t in posted] == [Kind.AWARD, Kind.REVERSAL]
    new, reversal = posted
    assert reversal.reverses == award.id and reversal.rule_id == award.rule_id
    assert reversal.actor == "r-staff" and "left early" in reversal.reason
    assert new.earned == 100 and new.session == SESSION
    assert uow.ledger.get(C, award.id).earned == 200  # the original stands, reversed not edited
    assert yearly(uow) == 100
    assert earning.correct_session(corrected(hours=1), uow) is None  # a redelivery


def test_a_second_correction_reverses_only_the_live_award(uow) -> None:
    earning.award_for_session(completed(hours=2), uow)
    first_new, _ = earning.correct_session(corrected("k1", hours=1), uow)

    posted = earning.correct_session(corrected("k2", hours=3, at=AT + timedelta(days=2)), uow)

    assert [t.reverses for t in posted if t.kind is Kind.REVERSAL] == [first_new.id]
    assert yearly(uow) == 300


def test_an_older_correction_arriving_late_changes_nothing(uow) -> None:
    earning.award_for_session(completed(hours=2), uow)
    newer = earning.correct_session(corrected("k2", hours=3, at=AT + timedelta(days=2)), uow)

    late = earning.correct_session(corrected("k1", hours=1, at=AT + timedelta(days=1)), uow)
    same_time = earning.correct_session(corrected("k3", hours=5, at=AT + timedelta(days=2)), uow)

    assert newer and late == [] and same_time == []
    assert yearly(uow) == 300  # the newer correction's 3 h stand
    assert earning.correct_session(corrected("k2", hours=3), uow) is None  # a redelivery
    assert yearly(uow) == 300


def test_session_and_training_corrections_are_ordered_apart(uow) -> None:
    uow.directory.set_corrected_at(C, earning.TRAINING_CORRECTION, SESSION, AT + timedelta(days=9))
    earning.award_for_session(completed(hours=2), uow)

    posted = earning.correct_session(corrected(hours=1), uow)

    assert posted and yearly(uow) == 100


def test_a_correction_that_would_overdraw_is_refused_whole(uow) -> None:
    earning.award_for_session(completed(hours=2), uow)
    reservations.reserve(
        commands.Reserve(SYSTEM, "r1", C, "r-alice", 150, Sink.REWARDS, "voucher", 600),
        uow,
        lambda: AT,
    )

    with pytest.raises(FailedPrecondition, match="too few yearly"):
        earning.correct_session(corrected(hours=0), uow)

    assert yearly(uow) == 50
    assert len(uow.ledger.transactions) == 2


def test_five_stars_add_ten_percent_once_per_session(uow) -> None:
    award = earning.award_for_session(completed(hours=2), uow)

    rating = earning.rate_session(rated(), uow)
    again = earning.rate_session(rated("q2"), uow)

    assert rating.earned == 20 and again is None
    assert rating.rule_id == "p1.hourly.regular+p3.rating.5"
    assert award.id in rating.reason
    assert yearly(uow) == 220


@pytest.mark.parametrize("stars", [1, 2, 3, 4])
def test_other_ratings_add_nothing_by_default(uow, stars) -> None:
    earning.award_for_session(completed(hours=2), uow)

    assert earning.rate_session(rated(stars=stars), uow) is None
    assert yearly(uow) == 200


def test_a_rating_of_an_unknown_session_or_of_someone_else_adds_nothing(uow) -> None:
    assert earning.rate_session(rated(), uow) is None
    earning.award_for_session(completed(hours=2), uow)
    assert earning.rate_session(rated("q2", resident="r-bob"), uow) is None


def test_a_correction_re_applies_the_rating_to_the_new_duration(uow) -> None:
    earning.award_for_session(completed(hours=2), uow)
    earning.rate_session(rated(), uow)

    posted = earning.correct_session(corrected(hours=4), uow)

    assert sorted(t.earned for t in posted) == [-200, -20, 40, 400]
    assert yearly(uow) == 440


def test_emergency_responses_earn_the_p5_rule_when_configured(uow) -> None:
    catalog = catalog_from_config(HELM_RULES)
    earning.record_emergency(
        commands.RecordEmergency("em1", C, "communities/c-east/activities/flood", AT), uow
    )

    earning.award_for_session(
        completed(
            service_type=ServiceType.HIGH_RISK, activity="communities/c-east/activities/flood"
        ),
        uow,
        catalog,
    )

    assert sorted(t.rule_id for t in uow.ledger.transactions) == [
        "p1.hourly.high_risk",
        "p5.emergency",
    ]
    assert DEFAULT_CATALOG.default.one(RuleKind.EMERGENCY).amount == 0


def test_project_leadership_and_mentoring_award_their_rules_once(uow) -> None:
    command = commands.AwardForActivity(
        event_id="p1",
        community_id=C,
        resident_id="r-alice",
        kind=RuleKind.PROJECT_LEAD,
        subject="led the clean-up for 3 runs",
        occurred_at=AT,
    )

    first = earning.award_for_activity(command, uow)
    again = earning.award_for_activity(command, uow)
    training = earning.award_for_activity(
        commands.AwardForActivity("t1", C, "r-alice", RuleKind.TRAINING, "first aid", AT, 8 * 3600),
        uow,
    )

    assert (first.rule_id, first.earned, again) == ("p5.project_lead", 1000, None)
    assert "led the clean-up" in first.reason
    assert (training.rule_id, training.earned) == ("p5.training", 800)


def test_settings_parse_the_rules_variable_and_refuse_bad_ones(monkeypatch) -> None:
    monkeypatch.setenv("LINLI_POINTS_EARNING_RULES", "[]")
    assert PointsSettings(database_url="x", redis_url="y").catalog is DEFAULT_CATALOG
    monkeypatch.setenv("LINLI_POINTS_EARNING_RULES", json.dumps(HELM_RULES))
    book = PointsSettings(database_url="x", redis_url="y").catalog.for_community(C)
    assert book.hourly(ServiceType.REGULAR).points_per_hour == 150
    monkeypatch.setenv("LINLI_POINTS_EARNING_RULES", '[{"id": "x", "activity_kind": "routine"}]')
    with pytest.raises(ValidationError, match="activity_kind"):
        PointsSettings(database_url="x", redis_url="y")
