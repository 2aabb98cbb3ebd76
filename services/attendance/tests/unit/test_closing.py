"""A sign-out's one read of the resident's sessions answers as the two reads it replaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linli_attendance.domain.activities import (
    Activity,
    NotSignedIn,
    Proof,
    ScheduleKind,
    ServiceType,
    Session,
    SessionStatus,
    SignInMethod,
    Window,
)
from linli_attendance.service_layer import lookups
from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")
C, RESIDENT = "c-east", "r-alice"
HOUR = timedelta(hours=1)
# 12:00 in Asia/Shanghai; its local day began at 2025-03-09 16:00 UTC.
AT = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)


def _activity(activity_id: str) -> Activity:
    return Activity(
        community_id=C,
        id=activity_id,
        title=activity_id,
        service_type=ServiceType.REGULAR,
        kind=ScheduleKind.EMERGENCY,
        starts_at=datetime(2025, 1, 1, tzinfo=UTC),
        ends_at=datetime(2025, 6, 1, tzinfo=UTC),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


HERE, ELSEWHERE = _activity("a-here"), _activity("a-elsewhere")


def _session(session_id: str, activity: Activity, signed_in: datetime, hours: float) -> Session:
    """A session of the resident; `hours` 0 leaves it open."""
    out = signed_in + hours * HOUR if hours else None
    return Session(
        community_id=C,
        activity_id=activity.id,
        id=session_id,
        resident_id=RESIDENT,
        sign_in_proof=Proof(SignInMethod.STAFF_CONFIRMED, "r-staff"),
        signed_in_at=signed_in,
        window=Window(activity.starts_at, activity.ends_at),
        status=SessionStatus.OPEN if out is None else SessionStatus.COMPLETED,
        signed_out_at=out,
        duration_seconds=int(hours * 3600),
    )


# Around the sign-out: a session every six hours from four days before to the day after.
AROUND = [_session(f"s-{n}", ELSEWHERE, AT - timedelta(hours=6 * n + 1), 2) for n in range(-3, 16)]


@pytest.mark.parametrize(
    "opened",
    [
        AT - 2 * HOUR,  # the same local day
        AT - 14 * HOUR,  # the local day before: open over midnight
        AT - 40 * HOUR,  # two local days before: read again
        AT - 75 * HOUR,  # three days before, beside a session of its own day
        AT + 13 * HOUR,  # after the sign-out, on the next local day: read again
    ],
)
def test_the_open_session_and_its_day_are_those_the_two_reads_find(opened: datetime) -> None:
    uow = fakes.FakeAttendanceUnitOfWork()
    for session in [*AROUND, _session("s-open", HERE, opened, 0)]:
        uow.sessions.add(session)

    session, today = lookups.closing(uow, HERE, RESIDENT, AT)

    expected = lookups.day_of(uow, C, RESIDENT, opened, until=max(AT, opened))
    assert session.id == "s-open"
    assert [s.id for s in today] == [s.id for s in expected]
    assert len(expected) > 1, "the case has other sessions on the open session's day"


def test_no_open_session_at_the_activity_is_not_signed_in() -> None:
    uow = fakes.FakeAttendanceUnitOfWork()
    for session in [*AROUND, _session("s-open", ELSEWHERE, AT - HOUR, 0)]:
        uow.sessions.add(session)

    with pytest.raises(NotSignedIn, match="not signed in to this activity"):
        lookups.closing(uow, HERE, RESIDENT, AT)
