"""Activities and sessions: planning, the sign-in window and the counted duration (A2, A3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli_attendance.domain.activities import (
    Activity,
    AlreadySignedIn,
    NotSignedIn,
    OutsideWindow,
    ScheduleKind,
    ServiceType,
    Session,
    SessionCompleted,
    SignInMethod,
)
from linli_kit.errors import FailedPrecondition, InvalidArgument

START = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def plan(
    title: str = "Street clean-up", starts_at: datetime = START, ends_at: datetime = END
) -> Activity:
    """A high-risk routine activity in c-east, planned the day before."""
    return Activity.plan(
        "c-east",
        title,
        ServiceType.HIGH_RISK,
        ScheduleKind.ROUTINE,
        starts_at,
        ends_at,
        START - timedelta(days=1),
    )


def sign_in(
    activity: Activity,
    at: datetime,
    now: datetime | None = None,
    open_session: Session | None = None,
) -> Session:
    """Sign r-alice in at `at`, confirmed by r-staff, with the clock at `now` (default `at`)."""
    return activity.sign_in(
        "r-alice", open_session, SignInMethod.STAFF_CONFIRMED, "r-staff", at, now or at
    )


def test_a_planned_activity_keeps_its_details() -> None:
    activity = plan(title="  Street clean-up ")

    assert (activity.community_id, activity.title, activity.starts_at, activity.ends_at) == (
        "c-east",
        "Street clean-up",
        START,
        END,
    )
    assert activity.id.startswith("a")
    assert activity.events == []


@pytest.mark.parametrize("title", ["", "   "])
def test_an_activity_needs_a_title(title: str) -> None:
    with pytest.raises(InvalidArgument, match="title is required"):
        plan(title=title)


def test_a_title_has_at_most_100_characters() -> None:
    assert plan(title="x" * 100).title == "x" * 100
    with pytest.raises(InvalidArgument, match="longer than 100"):
        plan(title="x" * 101)


@pytest.mark.parametrize("ends_at", [START, START - MINUTE])
def test_an_activity_must_end_after_it_starts(ends_at: datetime) -> None:
    with pytest.raises(InvalidArgument, match="end_time must be after"):
        plan(ends_at=ends_at)


@pytest.mark.parametrize("at", [START - 30 * MINUTE, START, START + MINUTE, END])
def test_sign_in_is_open_from_30_minutes_before_the_start_to_the_end(at: datetime) -> None:
    session = sign_in(plan(), at)

    assert (session.resident_id, session.confirmed_by, session.signed_in_at) == (
        "r-alice",
        "r-staff",
        at,
    )
    assert session.signed_out_at is None


@pytest.mark.parametrize("at", [START - 30 * MINUTE - SECOND, END + SECOND])
def test_sign_in_outside_the_window_is_refused(at: datetime) -> None:
    with pytest.raises(OutsideWindow, match="sign-in is open from 2025-03-01T09:30:00"):
        sign_in(plan(), at)


def test_a_time_up_to_two_minutes_ahead_of_the_clock_is_accepted() -> None:
    assert sign_in(plan(), START + 2 * MINUTE, now=START).signed_in_at == START + 2 * MINUTE


def test_a_time_further_ahead_of_the_clock_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="future"):
        sign_in(plan(), START + 2 * MINUTE + SECOND, now=START)


def test_a_second_sign_in_is_refused() -> None:
    activity = plan()
    first = sign_in(activity, START)

    with pytest.raises(AlreadySignedIn):
        sign_in(activity, START + MINUTE, open_session=first)


@pytest.mark.parametrize(
    ("signed_in", "signed_out", "seconds"),
    [
        (START + 10 * MINUTE, START + 70 * MINUTE, 3600),
        (START - 30 * MINUTE, START + 45 * MINUTE, 45 * 60),
        (START + 90 * MINUTE, END + 20 * MINUTE, 30 * 60),
        (START - 30 * MINUTE, END + 60 * MINUTE, 2 * 3600),
        (START - 20 * MINUTE, START - 10 * MINUTE, 0),
        (START, START, 0),
    ],
)
def test_the_counted_duration_is_clipped_to_the_activity_window(
    signed_in: datetime, signed_out: datetime, seconds: int
) -> None:
    activity = plan()
    session = sign_in(activity, signed_in)

    session.sign_out(activity, signed_out, now=signed_out)

    assert (session.signed_out_at, session.duration_seconds) == (signed_out, seconds)


def test_sign_out_raises_session_completed_with_the_counted_duration() -> None:
    activity = plan()
    session = sign_in(activity, START - 5 * MINUTE)

    session.sign_out(activity, START + 95 * MINUTE + 30 * SECOND, now=END)

    assert session.events == [
        SessionCompleted(
            community_id="c-east",
            occurred_at=START + 95 * MINUTE + 30 * SECOND,
            activity_id=activity.id,
            session_id=session.id,
            resident_id="r-alice",
            service_type=ServiceType.HIGH_RISK,
            signed_in_at=START - 5 * MINUTE,
            signed_out_at=START + 95 * MINUTE + 30 * SECOND,
            duration_seconds=95 * 60 + 30,
        )
    ]


def test_a_closed_session_cannot_be_signed_out_again() -> None:
    activity = plan()
    session = sign_in(activity, START)
    session.sign_out(activity, START + MINUTE, now=START + MINUTE)

    with pytest.raises(NotSignedIn, match="already closed"):
        session.sign_out(activity, START + 2 * MINUTE, now=START + 2 * MINUTE)

    assert len(session.events) == 1


def test_sign_out_before_the_sign_in_is_a_failed_precondition() -> None:
    activity = plan()
    session = sign_in(activity, START + 10 * MINUTE)

    with pytest.raises(FailedPrecondition, match="before the sign-in") as raised:
        session.sign_out(activity, START + 5 * MINUTE, now=START + 10 * MINUTE)

    assert type(raised.value) is FailedPrecondition
    assert session.signed_out_at is None
    assert session.events == []


def test_sign_out_in_the_future_is_refused() -> None:
    activity = plan()
    session = sign_in(activity, START)

    with pytest.raises(InvalidArgument, match="future"):
        session.sign_out(activity, START + 10 * MINUTE, now=START + 7 * MINUTE)

    assert session.signed_out_at is None
