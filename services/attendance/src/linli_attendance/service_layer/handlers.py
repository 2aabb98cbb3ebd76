"""Attendance use cases: plain functions taking a command, a unit of work and collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linli_attendance.domain.activities import (
    Activity,
    ActivityKind,
    NotSignedIn,
    ServiceType,
    Session,
    SignInMethod,
)
from linli_attendance.service_layer.ports import AttendanceUnitOfWork, ResidentDirectory
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument, NotFound, PermissionDenied


@dataclass(frozen=True)
class CreateActivity:
    """Plan an activity in a community."""

    community_id: str
    title: str
    service_type: ServiceType
    kind: ActivityKind
    starts_at: datetime
    ends_at: datetime
    request_id: str = ""


@dataclass(frozen=True)
class SignIn:
    """Open a session for a resident at an activity."""

    community_id: str
    activity_id: str
    resident_id: str
    method: SignInMethod
    confirmed_by: str
    at: datetime | None = None
    request_id: str = ""


@dataclass(frozen=True)
class SignOut:
    """Close a resident's open session at an activity."""

    community_id: str
    activity_id: str
    resident_id: str
    method: SignInMethod
    confirmed_by: str
    at: datetime | None = None
    request_id: str = ""


def create_activity(
    cmd: CreateActivity, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Activity:
    """Plan an activity; a retry with the same request id returns it again."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _activity(uow, cmd.community_id, done)
        activity = Activity.plan(
            cmd.community_id,
            cmd.title,
            cmd.service_type,
            cmd.kind,
            cmd.starts_at,
            cmd.ends_at,
            clock(),
        )
        uow.activities.add(activity)
        uow.requests.remember(cmd, activity.id)
        uow.commit()
        return activity


def get_activity(community_id: str, activity_id: str, uow: AttendanceUnitOfWork) -> Activity:
    """An activity, or NotFound."""
    with uow:
        return _activity(uow, community_id, activity_id)


def list_activities(
    community_id: str, offset: int, limit: int, uow: AttendanceUnitOfWork
) -> tuple[list[Activity], bool]:
    """A page of a community's activities by start time, and whether more follow."""
    with uow:
        activities = uow.activities.list(community_id, offset, limit + 1)
        return activities[:limit], len(activities) > limit


def sign_in(
    cmd: SignIn, uow: AttendanceUnitOfWork, residents: ResidentDirectory, clock: Clock = utc_now
) -> Session:
    """Open a staff-confirmed session once the resident and the confirming staff are known."""
    _check_confirmation(cmd)
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        _known(residents, cmd.community_id, cmd.resident_id, "resident")
        _known(residents, cmd.community_id, cmd.confirmed_by, "confirming staff member")
        now = clock()
        open_session = uow.sessions.open_for(cmd.community_id, cmd.activity_id, cmd.resident_id)
        session = activity.sign_in(
            cmd.resident_id, open_session, cmd.method, cmd.confirmed_by, cmd.at or now, now
        )
        uow.sessions.add(session)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def sign_out(cmd: SignOut, uow: AttendanceUnitOfWork, clock: Clock = utc_now) -> Session:
    """Close the resident's open session; its SessionCompleted event leaves with the commit."""
    _check_confirmation(cmd)
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        session = uow.sessions.open_for(
            cmd.community_id, cmd.activity_id, cmd.resident_id, lock=True
        )
        if session is None:
            raise NotSignedIn("the resident is not signed in to this activity")
        now = clock()
        session.sign_out(activity, cmd.at or now, now)
        uow.sessions.save(session)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def _check_confirmation(cmd: SignIn | SignOut) -> None:
    if not cmd.confirmed_by:
        raise InvalidArgument("confirmed_by is required for a staff-confirmed sign-in")
    if cmd.confirmed_by == cmd.resident_id:
        raise PermissionDenied("staff cannot confirm their own attendance")


def _known(residents: ResidentDirectory, community_id: str, resident_id: str, who: str) -> None:
    if not residents.exists(community_id, resident_id):
        raise NotFound(
            f"the {who} communities/{community_id}/residents/{resident_id} is not registered"
        )


def _activity(uow: AttendanceUnitOfWork, community_id: str, activity_id: str) -> Activity:
    activity = uow.activities.get(community_id, activity_id)
    if activity is None:
        raise NotFound(f"communities/{community_id}/activities/{activity_id} does not exist")
    return activity


def _session(uow: AttendanceUnitOfWork, community_id: str, session_id: str) -> Session:
    session = uow.sessions.get(community_id, session_id)
    if session is None:
        raise NotFound(f"session {session_id} does not exist")
    return session
