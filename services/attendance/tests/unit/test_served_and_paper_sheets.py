"""Section 3 of issue 9: who may rate, when ratings close, paper sheets, the day of a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli_attendance.domain.activities import (
    OverlappingSession,
    ScheduleKind,
    ServiceType,
    SessionCompleted,
    SessionStatus,
    SignInMethod,
)
from linli_attendance.domain.limits import limit_book_from_config
from linli_attendance.domain.ratings import NotServed
from linli_attendance.domain.review import FlagKind, SelfConfirmation, TooManySessions
from linli_attendance.service_layer import activities, commands, ratings, sessions, sweeps
from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from linli_kit.principals import Role
from linli_kit.testing import load_beside

C = "c-east"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
# 2025-03-03 00:00 in Asia/Shanghai.
DAY = datetime(2025, 3, 2, 16, 0, tzinfo=UTC)
fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")


def staff(resident: str = "r-staff"):
    """A building liaison of c-east acting."""
    return fakes.person(resident, Role.BUILDING_LIAISON)


@pytest.fixture
def everyone(directory):
    """Identity also knows r-grandma and r-grandpa."""
    directory.known |= {(C, "r-grandma"), (C, "r-grandpa")}
    return directory


def plan(uow, clock, starts_at, hours=2, place="Block 3"):
    """A routine regular-service activity."""
    command = commands.CreateActivity(
        C,
        "Clean-up",
        ServiceType.REGULAR,
        ScheduleKind.ROUTINE,
        starts_at,
        starts_at + hours * HOUR,
        place=place,
        actor=fakes.STAFF,
    )
    return activities.create_activity(command, uow, clock)


def sheet(uow, clock, directory, activity, signed_in_at, signed_out_at, **extra):
    """A paper sign-in sheet's session of Alice, confirmed by r-staff."""
    command = commands.EnterPaperSession(
        C,
        activity.id,
        extra.pop("resident", "r-alice"),
        signed_in_at,
        signed_out_at,
        extra.pop("reason", "the kiosk was down"),
        actor=staff(extra.pop("confirmed_by", "r-staff")),
    )
    return sessions.enter_paper_session(command, uow, directory, clock, **extra)


def serve(uow, clock, directory, served=("r-grandma",)):
    """Alice served 10:00-12:00 local on the sheet; staff record whom she served."""
    clock.now = DAY + 14 * HOUR
    activity = plan(uow, clock, DAY + 10 * HOUR)
    session = sheet(uow, clock, directory, activity, DAY + 10 * HOUR, DAY + 12 * HOUR)
    record = commands.RecordServed(C, session.id, served, actor=fakes.STAFF)
    return sessions.record_served(record, uow, directory, clock)


def rate(uow, clock, session, rated_by, **extra):
    """Five stars from the resident."""
    command = commands.RateSession(C, session.id, 5, actor=fakes.person(rated_by))
    return ratings.rate_session(command, uow, clock, **extra)


def _stored(uow, session):
    """The session as stored, read by staff."""
    return sessions.get_session(fakes.STAFF, C, session.id, uow)


def open_flags(uow):
    """The kinds of the open flags."""
    return sorted(f.kind for f in uow.flags.rows.values() if f.resolved_at is None)


def test_a_resident_who_was_not_served_cannot_rate(uow, clock, everyone) -> None:
    session = serve(uow, clock, everyone)
    uow.published.clear()

    with pytest.raises(NotServed, match="only a resident this session served") as refused:
        rate(uow, clock, session, "r-grandpa")

    assert isinstance(refused.value, PermissionDenied)
    assert uow.ratings.rows == {} and uow.published == []
    assert rate(uow, clock, session, "r-grandma").stars == 5


def test_whom_a_session_served_is_kept_and_added_to(uow, clock, everyone) -> None:
    session = serve(uow, clock, everyone)
    more = commands.RecordServed(C, session.id, ("r-grandpa", "r-grandma"), actor=fakes.STAFF)
    sessions.record_served(more, uow, everyone, clock)

    assert _stored(uow, session).served == (
        "r-grandma",
        "r-grandpa",
    )


@pytest.mark.parametrize(
    ("served", "by", "error", "message"),
    [
        (("r-grandma",), "r-alice", SelfConfirmation, "their own session"),
        (("r-alice",), "r-staff", InvalidArgument, "not among the residents"),
        ((), "r-staff", InvalidArgument, "at least one"),
        (("r-nobody",), "r-staff", NotFound, "resident served"),
    ],
)
def test_recording_whom_a_session_served_is_refused(
    uow, clock, everyone, served, by, error, message
) -> None:
    session = serve(uow, clock, everyone)

    with pytest.raises(error, match=message):
        sessions.record_served(
            commands.RecordServed(C, session.id, served, actor=staff(by)), uow, everyone, clock
        )

    assert _stored(uow, session).served == ("r-grandma",)
    assert open_flags(uow) == ([FlagKind.SELF_CONFIRMATION] if by == "r-alice" else [])


def test_ratings_close_72_hours_after_the_session_ends_not_after_it_was_entered(
    uow, clock, everyone
) -> None:
    clock.now = DAY + 71 * HOUR
    activity = plan(uow, clock, DAY)
    session = sheet(uow, clock, everyone, activity, DAY, DAY + HOUR)
    sessions.record_served(
        commands.RecordServed(C, session.id, ("r-grandma", "r-grandpa"), actor=fakes.STAFF),
        uow,
        everyone,
        clock,
    )
    rate(uow, clock, session, "r-grandma")

    clock.now = DAY + 73 * HOUR + MINUTE
    with pytest.raises(FailedPrecondition, match="72 h after the session ends"):
        rate(uow, clock, session, "r-grandpa")


def test_a_community_may_keep_ratings_open_longer(uow, clock, everyone) -> None:
    session = serve(uow, clock, everyone)
    clock.now = DAY + 12 * HOUR + 100 * HOUR
    longer = limit_book_from_config({C: {"rating_window_minutes": 7 * 24 * 60}})

    assert rate(uow, clock, session, "r-grandma", limits=longer).stars == 5


def test_a_paper_sheet_session_completes_in_one_call(uow, clock, everyone) -> None:
    clock.now = DAY + 20 * HOUR
    activity = plan(uow, clock, DAY + 10 * HOUR)
    uow.published.clear()

    session = sheet(uow, clock, everyone, activity, DAY + 10 * HOUR, DAY + 11 * HOUR + 30 * MINUTE)

    assert (session.status, session.duration_seconds) == (SessionStatus.COMPLETED, 5400)
    assert session.sign_in_proof.method is SignInMethod.PAPER_SHEET
    assert session.confirmed_by == "r-staff"
    assert (
        sessions.get_session(fakes.STAFF, C, session.id, uow).paper_sheet_reason
        == "the kiosk was down"
    )
    assert uow.published == [
        SessionCompleted(
            community_id=C,
            occurred_at=DAY + 11 * HOUR + 30 * MINUTE,
            activity_id=activity.id,
            session_id=session.id,
            resident_id="r-alice",
            service_type=ServiceType.REGULAR,
            signed_in_at=DAY + 10 * HOUR,
            signed_out_at=DAY + 11 * HOUR + 30 * MINUTE,
            duration_seconds=5400,
        )
    ]


def test_a_paper_sheet_entered_long_after_is_never_open_to_the_sweep(uow, clock, everyone) -> None:
    clock.now = DAY + 30 * HOUR
    activity = plan(uow, clock, DAY + 10 * HOUR)

    session = sheet(uow, clock, everyone, activity, DAY + 10 * HOUR, DAY + 12 * HOUR)

    assert sweeps.close_forgotten_sessions(uow, clock()) == 0
    assert _stored(uow, session).status is SessionStatus.COMPLETED
    assert open_flags(uow) == []


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ({"reason": " "}, InvalidArgument, "needs a reason"),
        ({"confirmed_by": "r-alice"}, SelfConfirmation, "their own attendance"),
        ({"resident": "r-nobody"}, NotFound, "resident"),
    ],
)
def test_paper_sheet_entries_that_are_refused(uow, clock, everyone, extra, error, message) -> None:
    clock.now = DAY + 20 * HOUR
    activity = plan(uow, clock, DAY + 10 * HOUR)

    with pytest.raises(error, match=message):
        sheet(uow, clock, everyone, activity, DAY + 10 * HOUR, DAY + 11 * HOUR, **extra)

    assert uow.sessions.rows == {}


@pytest.mark.parametrize(
    ("signed_in", "signed_out", "message"),
    [
        (11 * HOUR, 10 * HOUR, "after the sign-in"),
        (10 * HOUR, 21 * HOUR, "future"),
        (7 * HOUR, 8 * HOUR, "sign-in is open from"),
    ],
)
def test_paper_sheet_times_that_are_refused(uow, clock, everyone, signed_in, signed_out, message):
    clock.now = DAY + 20 * HOUR
    activity = plan(uow, clock, DAY + 10 * HOUR)

    with pytest.raises((InvalidArgument, FailedPrecondition), match=message):
        sheet(uow, clock, everyone, activity, DAY + signed_in, DAY + signed_out)


def test_a_paper_sheet_follows_the_overlap_and_per_day_rules(uow, clock, everyone) -> None:
    clock.now = DAY + 23 * HOUR
    activity = plan(uow, clock, DAY + 8 * HOUR, hours=12)
    for n in range(4):
        start = DAY + (8 + 2 * n) * HOUR
        sheet(uow, clock, everyone, activity, start, start + HOUR)

    with pytest.raises(OverlappingSession):
        sheet(uow, clock, everyone, activity, DAY + 8 * HOUR + 30 * MINUTE, DAY + 9 * HOUR)
    with pytest.raises(TooManySessions):
        sheet(uow, clock, everyone, activity, DAY + 17 * HOUR, DAY + 18 * HOUR)
    assert open_flags(uow) == [FlagKind.TOO_MANY_SESSIONS]


def test_a_session_belongs_to_the_day_of_its_sign_in(uow, clock, everyone) -> None:
    clock.now = DAY + 40 * HOUR
    morning = plan(uow, clock, DAY + 8 * HOUR, hours=7, place="")
    night = plan(uow, clock, DAY + 22 * HOUR, hours=4, place="")
    next_night = plan(uow, clock, DAY + 25 * HOUR + 30 * MINUTE, hours=2, place="")
    sheet(uow, clock, everyone, morning, DAY + 8 * HOUR, DAY + 15 * HOUR)

    # 23:00 to 01:00: both hours count against the day it began on, which has 1 h left.
    late = sheet(uow, clock, everyone, night, DAY + 23 * HOUR, DAY + 25 * HOUR)
    # 01:30 to 03:30 begins the next day: nothing of the late session counts against it.
    after = sheet(uow, clock, everyone, next_night, DAY + 25 * HOUR + 30 * MINUTE, DAY + 27 * HOUR)

    assert (late.duration_seconds, after.duration_seconds) == (3600, 5400)
    assert open_flags(uow) == [FlagKind.TIME_CAP]


def test_a_community_sets_its_own_time_cap_and_grace(uow, clock, everyone) -> None:
    book = limit_book_from_config({C: {"time_cap_minutes": 60, "sign_out_grace_minutes": 30}})
    clock.now = DAY + 20 * HOUR
    activity = plan(uow, clock, DAY + 10 * HOUR)
    capped = sheet(uow, clock, everyone, activity, DAY + 10 * HOUR, DAY + 12 * HOUR, limits=book)
    assert capped.duration_seconds == 3600

    clock.now = DAY + 20 * HOUR
    later = plan(uow, clock, DAY + 18 * HOUR)
    command = commands.SignIn(
        C, later.id, "r-bob", SignInMethod.STAFF_CONFIRMED, DAY + 19 * HOUR, actor=fakes.STAFF
    )
    opened = sessions.sign_in(command, uow, everyone, clock, limits=book)

    assert sweeps.close_forgotten_sessions(uow, DAY + 20 * HOUR + 29 * MINUTE, limits=book) == 0
    assert sweeps.close_forgotten_sessions(uow, DAY + 20 * HOUR + 31 * MINUTE, limits=book) == 1
    assert (
        sessions.get_session(fakes.STAFF, C, opened.id, uow).status is SessionStatus.PENDING_REVIEW
    )
