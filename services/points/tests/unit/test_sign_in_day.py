"""A session belongs to the day (points caps) and the week (P2) of its sign-in, not its sign-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linli_kit.principals import SYSTEM
from linli_points.domain.periods import local_date, week_of
from linli_points.domain.rules import ServiceType, catalog_from_config
from linli_points.service_layer import closes, commands, earning

C = "c-east"
# Sunday 2026-03-08 23:30 in Asia/Shanghai; the session signs out at 00:30 on Monday.
SUNDAY_LATE = datetime(2026, 3, 8, 15, 30, tzinfo=UTC)
CAPPED = catalog_from_config(
    [
        {
            "id": "p1.hourly.regular",
            "activity_kind": "service",
            "service_type": "regular",
            "points_per_hour": 100,
            "daily_cap": 350,
        },
        {"id": "p2.first_participation", "activity_kind": "first_participation", "amount": 500},
    ]
)


def session(event_id: str, signed_in: datetime, hours: int) -> commands.AwardForSession:
    """A regular session of Alice's signed in at an instant."""
    return commands.AwardForSession(
        event_id=event_id,
        community_id=C,
        resident_id="r-alice",
        session=f"communities/{C}/activities/a1/sessions/{event_id}",
        service_type=ServiceType.REGULAR,
        duration_seconds=hours * 3600,
        signed_in_at=signed_in,
    )


def test_an_overnight_session_counts_for_the_day_it_signed_in(uow) -> None:
    earlier = earning.award_for_session(
        session("e1", SUNDAY_LATE - timedelta(hours=8), 3), uow, CAPPED
    )
    overnight = earning.award_for_session(session("e2", SUNDAY_LATE, 1), uow, CAPPED)
    monday = earning.award_for_session(
        session("e3", SUNDAY_LATE + timedelta(hours=10), 3), uow, CAPPED
    )

    assert earlier is not None and earlier.earned == 300
    assert overnight is not None and overnight.earned == 50  # Sunday's cap of 3.50 is reached
    assert local_date(overnight.created_at).isoformat() == "2026-03-08"
    assert monday is not None and monday.earned == 300  # Monday's cap is untouched


def test_an_overnight_session_counts_for_the_week_it_signed_in(uow) -> None:
    overnight = earning.award_for_session(session("e1", SUNDAY_LATE, 1), uow, CAPPED)
    assert overnight is not None
    assert week_of(overnight.created_at).isoformat() == "2026-03-02"

    monday_morning = SUNDAY_LATE + timedelta(hours=2)  # 01:30, after the sign-out
    run = closes.close_periods(
        commands.ClosePeriods(SYSTEM, "", C), uow, CAPPED, clock=lambda: monday_morning
    )

    [bonus] = closes.posted_by(uow, run)
    assert bonus.rule_id == "p2.first_participation"
    assert bonus.reason == "first participation, week of 2026-03-02"


def test_a_correction_of_an_overnight_session_still_counts_for_its_sign_in_day(uow) -> None:
    earning.award_for_session(session("e1", SUNDAY_LATE - timedelta(hours=8), 3), uow, CAPPED)
    earning.award_for_session(session("e2", SUNDAY_LATE, 1), uow, CAPPED)

    posted = earning.correct_session(
        commands.CorrectSession(
            event_id="k1",
            community_id=C,
            resident_id="r-alice",
            session=f"communities/{C}/activities/a1/sessions/e2",
            activity="",
            service_type=ServiceType.REGULAR,
            duration_seconds=2 * 3600,
            corrected_by="r-staff",
            reason="signed out late",
            occurred_at=SUNDAY_LATE + timedelta(days=2),
        ),
        uow,
        CAPPED,
    )

    corrected, reversal = posted
    assert corrected.created_at == SUNDAY_LATE  # dated at the sign-in, on Sunday
    assert corrected.earned == 50  # Sunday's cap, not counting the award it replaces
    assert reversal.reverses and reversal.earned == -50
