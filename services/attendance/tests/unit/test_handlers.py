"""Attendance use cases against the in-memory unit of work, a fake directory and a set clock."""

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
    SessionCompleted,
    SignInMethod,
)
from linli_attendance.service_layer import activities, commands, sessions
from linli_kit.errors import (
    FailedPrecondition,
    IdempotencyConflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from linli_kit.principals import Principal, Role
from linli_kit.testing import load_beside

START = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
MINUTE = timedelta(minutes=1)
STAFF = SignInMethod.STAFF_CONFIRMED
fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")


def planned(
    title: str = "Street clean-up", starts_at: datetime = START, request_id: str = ""
) -> commands.CreateActivity:
    """A command planning a two-hour professional activity in c-east."""
    return commands.CreateActivity(
        "c-east",
        title,
        ServiceType.PROFESSIONAL,
        ScheduleKind.PERIODIC,
        starts_at,
        starts_at + timedelta(hours=2),
        request_id=request_id,
        actor=fakes.STAFF,
    )


@pytest.fixture
def activity(uow, clock) -> Activity:
    """A planned activity from 10:00 to 12:00, with `committed` reset afterwards."""
    made = activities.create_activity(planned(), uow, clock)
    uow.committed = False
    return made


def signing_in(
    activity: Activity,
    at: datetime | None = None,
    resident_id: str = "r-alice",
    by: Principal = fakes.STAFF,
    request_id: str = "",
) -> commands.SignIn:
    """A staff-confirmed sign-in command (by r-staff unless another caller is named)."""
    return commands.SignIn(
        "c-east", activity.id, resident_id, STAFF, at, request_id=request_id, actor=by
    )


def signing_out(
    activity: Activity,
    at: datetime | None = None,
    resident_id: str = "r-alice",
    by: Principal = fakes.STAFF,
    request_id: str = "",
) -> commands.SignOut:
    """A staff-confirmed sign-out command (by r-staff unless another caller is named)."""
    return commands.SignOut(
        "c-east", activity.id, resident_id, STAFF, at, request_id=request_id, actor=by
    )


def test_create_activity_stores_it(uow, clock) -> None:
    made = activities.create_activity(planned(), uow, clock)

    stored = activities.get_activity(fakes.STAFF, "c-east", made.id, uow)
    assert (stored.title, stored.service_type, stored.kind, stored.created_at) == (
        "Street clean-up",
        ServiceType.PROFESSIONAL,
        ScheduleKind.PERIODIC,
        clock.now,
    )
    assert uow.committed


def test_create_activity_refuses_an_empty_window(uow, clock) -> None:
    cmd = commands.CreateActivity(
        "c-east",
        "Clean-up",
        ServiceType.REGULAR,
        ScheduleKind.ROUTINE,
        START,
        START,
        actor=fakes.STAFF,
    )

    with pytest.raises(InvalidArgument, match="end_time"):
        activities.create_activity(cmd, uow, clock)

    assert not uow.committed
    assert uow.activities.rows == {}


def test_a_create_retry_returns_the_same_activity(uow, clock) -> None:
    first = activities.create_activity(planned(request_id="q1"), uow, clock)
    again = activities.create_activity(planned(request_id="q1"), uow, clock)

    assert again.id == first.id
    assert len(uow.activities.rows) == 1


def test_a_create_retry_with_other_arguments_is_a_conflict(uow, clock) -> None:
    activities.create_activity(planned(request_id="q1"), uow, clock)

    with pytest.raises(IdempotencyConflict):
        activities.create_activity(planned(title="Another", request_id="q1"), uow, clock)

    assert len(uow.activities.rows) == 1


def test_get_activity_of_an_unknown_id_is_not_found(uow) -> None:
    with pytest.raises(NotFound, match="communities/c-east/activities/a-none"):
        activities.get_activity(fakes.STAFF, "c-east", "a-none", uow)


def test_list_activities_pages_by_start_time(uow, clock) -> None:
    ids = {
        hour: activities.create_activity(
            planned(starts_at=START + timedelta(hours=hour)), uow, clock
        ).id
        for hour in (3, 1, 4, 0, 2)
    }

    first, more_after_first = activities.list_activities(fakes.STAFF, "c-east", 0, 2, uow)
    last, more_after_last = activities.list_activities(fakes.STAFF, "c-east", 4, 2, uow)

    assert ([a.id for a in first], more_after_first) == ([ids[0], ids[1]], True)
    assert ([a.id for a in last], more_after_last) == ([ids[4]], False)
    west = fakes.person("r-west", Role.SOCIAL_WORKER, community="c-west")
    assert activities.list_activities(west, "c-west", 0, 2, uow) == ([], False)


def test_sign_in_opens_a_session_at_the_clock_time(uow, clock, directory, activity) -> None:
    clock.now = START - 10 * MINUTE

    session = sessions.sign_in(signing_in(activity), uow, directory, clock)

    stored = uow.sessions.rows[("c-east", session.id)]
    assert (stored.resident_id, stored.confirmed_by, stored.signed_in_at) == (
        "r-alice",
        "r-staff",
        START - 10 * MINUTE,
    )
    assert stored.signed_out_at is None
    assert uow.committed
    assert uow.published == []


def test_sign_in_at_an_earlier_given_time(uow, clock, directory, activity) -> None:
    clock.now = START + 30 * MINUTE

    session = sessions.sign_in(signing_in(activity, at=START + 5 * MINUTE), uow, directory, clock)

    assert session.signed_in_at == START + 5 * MINUTE


def test_sign_in_too_early_is_outside_the_window(uow, clock, directory, activity) -> None:
    clock.now = START - 31 * MINUTE

    with pytest.raises(OutsideWindow):
        sessions.sign_in(signing_in(activity), uow, directory, clock)

    assert uow.sessions.rows == {}


def test_sign_in_in_the_future_is_refused(uow, clock, directory, activity) -> None:
    clock.now = START

    with pytest.raises(InvalidArgument, match="future"):
        sessions.sign_in(signing_in(activity, at=START + 3 * MINUTE), uow, directory, clock)

    assert uow.sessions.rows == {}


def test_a_double_sign_in_is_refused(uow, clock, directory, activity) -> None:
    clock.now = START
    sessions.sign_in(signing_in(activity), uow, directory, clock)

    with pytest.raises(AlreadySignedIn):
        sessions.sign_in(signing_in(activity), uow, directory, clock)

    assert len(uow.sessions.rows) == 1


def test_others_may_sign_in_to_the_same_activity(uow, clock, directory, activity) -> None:
    clock.now = START
    sessions.sign_in(signing_in(activity), uow, directory, clock)
    sessions.sign_in(signing_in(activity, resident_id="r-bob"), uow, directory, clock)

    assert sorted(s.resident_id for s in uow.sessions.rows.values()) == ["r-alice", "r-bob"]


def test_sign_in_to_an_unknown_activity_is_not_found(uow, clock, directory) -> None:
    cmd = commands.SignIn("c-east", "a-none", "r-alice", STAFF, actor=fakes.STAFF)

    with pytest.raises(NotFound, match="activities/a-none"):
        sessions.sign_in(cmd, uow, directory, clock)


def test_an_unknown_resident_is_not_found(uow, clock, directory, activity) -> None:
    clock.now = START

    with pytest.raises(NotFound, match="the resident communities/c-east/residents/r-eve"):
        sessions.sign_in(signing_in(activity, resident_id="r-eve"), uow, directory, clock)

    assert uow.sessions.rows == {}


def test_an_unknown_resident_cannot_be_signed_out(uow, clock, directory, activity) -> None:
    clock.now = START

    with pytest.raises(NotFound, match="the resident communities/c-east/residents/r-eve"):
        sessions.sign_out(signing_out(activity, resident_id="r-eve"), uow, directory, clock)


def test_staff_cannot_confirm_their_own_sign_in(uow, clock, directory, activity) -> None:
    clock.now = START

    with pytest.raises(PermissionDenied, match="own attendance"):
        sessions.sign_in(signing_in(activity, resident_id="r-staff"), uow, directory, clock)

    assert uow.sessions.rows == {}


def test_staff_cannot_confirm_their_own_sign_out(uow, clock, directory, activity) -> None:
    with pytest.raises(PermissionDenied, match="own attendance"):
        sessions.sign_out(signing_out(activity, resident_id="r-staff"), uow, directory, clock)


def test_a_resident_cannot_confirm_their_own_sign_in(uow, clock, directory, activity) -> None:
    clock.now = START

    with pytest.raises(PermissionDenied, match="only staff"):
        sessions.sign_in(signing_in(activity, by=fakes.person("r-alice")), uow, directory, clock)

    assert uow.sessions.rows == {}


def test_a_sign_in_retry_returns_the_same_session(uow, clock, directory, activity) -> None:
    clock.now = START
    first = sessions.sign_in(signing_in(activity, request_id="q1"), uow, directory, clock)
    clock.now = START + MINUTE

    again = sessions.sign_in(signing_in(activity, request_id="q1"), uow, directory, clock)

    assert (again.id, again.signed_in_at) == (first.id, START)
    assert len(uow.sessions.rows) == 1


def test_a_sign_in_retry_with_other_arguments_is_a_conflict(
    uow, clock, directory, activity
) -> None:
    clock.now = START
    sessions.sign_in(signing_in(activity, request_id="q1"), uow, directory, clock)

    with pytest.raises(IdempotencyConflict):
        sessions.sign_in(
            signing_in(activity, resident_id="r-bob", request_id="q1"), uow, directory, clock
        )


def test_sign_out_closes_the_session_and_publishes_session_completed(
    uow, clock, directory, activity
) -> None:
    clock.now = START - 20 * MINUTE
    opened = sessions.sign_in(signing_in(activity), uow, directory, clock)
    clock.now = END + 15 * MINUTE

    closed = sessions.sign_out(signing_out(activity), uow, directory, clock)

    stored = uow.sessions.rows[("c-east", opened.id)]
    assert (stored.signed_out_at, stored.duration_seconds) == (END + 15 * MINUTE, 2 * 3600)
    assert closed.id == opened.id
    assert uow.published == [
        SessionCompleted(
            community_id="c-east",
            occurred_at=END + 15 * MINUTE,
            activity_id=activity.id,
            session_id=opened.id,
            resident_id="r-alice",
            service_type=ServiceType.PROFESSIONAL,
            signed_in_at=START - 20 * MINUTE,
            signed_out_at=END + 15 * MINUTE,
            duration_seconds=2 * 3600,
        )
    ]


def test_sign_out_without_sign_in_is_refused(uow, clock, directory, activity) -> None:
    clock.now = START

    with pytest.raises(NotSignedIn, match="not signed in"):
        sessions.sign_out(signing_out(activity), uow, directory, clock)

    assert uow.published == []


def test_a_second_sign_out_is_refused(uow, clock, directory, activity) -> None:
    clock.now = START
    sessions.sign_in(signing_in(activity), uow, directory, clock)
    clock.now = START + 30 * MINUTE
    sessions.sign_out(signing_out(activity), uow, directory, clock)

    with pytest.raises(NotSignedIn):
        sessions.sign_out(signing_out(activity), uow, directory, clock)

    assert len(uow.published) == 1


def test_sign_out_before_the_sign_in_is_refused(uow, clock, directory, activity) -> None:
    clock.now = START + 30 * MINUTE
    opened = sessions.sign_in(signing_in(activity), uow, directory, clock)

    with pytest.raises(FailedPrecondition, match="before the sign-in") as raised:
        sessions.sign_out(signing_out(activity, at=START + 10 * MINUTE), uow, directory, clock)

    assert type(raised.value) is FailedPrecondition
    assert uow.sessions.rows[("c-east", opened.id)].signed_out_at is None
    assert uow.published == []


def test_sign_out_in_the_future_is_refused(uow, clock, directory, activity) -> None:
    clock.now = START
    sessions.sign_in(signing_in(activity), uow, directory, clock)

    with pytest.raises(InvalidArgument, match="future"):
        sessions.sign_out(signing_out(activity, at=START + 5 * MINUTE), uow, directory, clock)

    assert uow.published == []


def test_a_sign_out_retry_returns_the_same_session_and_publishes_once(
    uow, clock, directory, activity
) -> None:
    clock.now = START
    sessions.sign_in(signing_in(activity), uow, directory, clock)
    clock.now = START + 45 * MINUTE
    first = sessions.sign_out(signing_out(activity, request_id="q2"), uow, directory, clock)
    clock.now = START + 50 * MINUTE

    again = sessions.sign_out(signing_out(activity, request_id="q2"), uow, directory, clock)

    assert (again.id, again.signed_out_at, again.duration_seconds) == (
        first.id,
        START + 45 * MINUTE,
        45 * 60,
    )
    assert len(uow.published) == 1


def test_after_signing_out_a_resident_may_sign_in_again(uow, clock, directory, activity) -> None:
    clock.now = START
    first = sessions.sign_in(signing_in(activity), uow, directory, clock)
    clock.now = START + 30 * MINUTE
    sessions.sign_out(signing_out(activity), uow, directory, clock)
    clock.now = START + 60 * MINUTE

    second = sessions.sign_in(signing_in(activity), uow, directory, clock)

    assert second.id != first.id
    assert len(uow.sessions.rows) == 2
