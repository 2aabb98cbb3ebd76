"""Loading what a use case works on, or refusing with NotFound; shared by every handler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from linli_attendance.domain.activities import (
    EARLY_SIGN_IN,
    Activity,
    NotSignedIn,
    Session,
    check_in_calendar,
    local_day,
)
from linli_attendance.domain.leads import ProjectLead
from linli_attendance.domain.names import ACTIVITY, FLAG, LEAD, RESIDENT
from linli_attendance.domain.review import Flag
from linli_attendance.service_layer.ports import AttendanceUnitOfWork, ResidentDirectory
from linli_kit.errors import NotFound


def known(residents: ResidentDirectory, community_id: str, resident_id: str, who: str) -> None:
    """Refuse a resident identity does not know, naming their role in the request."""
    if not residents.exists(community_id, resident_id):
        raise NotFound(
            f"the {who} {RESIDENT.format(community=community_id, resident=resident_id)} "
            "is not registered"
        )


def activity(
    uow: AttendanceUnitOfWork, community_id: str, activity_id: str, lock_resident: str = ""
) -> Activity:
    """An activity, or NotFound; with `lock_resident`, that resident's lock is held from now on."""
    found = uow.activities.get(community_id, activity_id, lock_resident)
    if found is None:
        name = ACTIVITY.format(community=community_id, activity=activity_id)
        raise NotFound(f"{name} does not exist")
    return found


def session(uow: AttendanceUnitOfWork, community_id: str, session_id: str) -> Session:
    """A session, or NotFound."""
    found = uow.sessions.get(community_id, session_id)
    if found is None:
        raise NotFound(f"session {session_id} does not exist")
    return found


def lead(uow: AttendanceUnitOfWork, community_id: str, lead_id: str) -> ProjectLead:
    """An application to lead, or NotFound."""
    found = uow.leads.get(community_id, lead_id)
    if found is None:
        raise NotFound(f"{LEAD.format(community=community_id, lead=lead_id)} does not exist")
    return found


def flag(uow: AttendanceUnitOfWork, community_id: str, flag_id: str) -> Flag:
    """A flag, or NotFound."""
    found = uow.flags.get(community_id, flag_id)
    if found is None:
        raise NotFound(f"{FLAG.format(community=community_id, flag=flag_id)} does not exist")
    return found


def day_of(
    uow: AttendanceUnitOfWork,
    community_id: str,
    resident_id: str,
    signed_in_at: datetime,
    until: datetime | None = None,
) -> list[Session]:
    """The resident's sessions from the start of the sign-in's local day to its end (or later)."""
    check_in_calendar(signed_in_at, "the sign-in time")
    if until is not None:
        check_in_calendar(until, "the sign-out time")
    day_start, day_end = local_day(signed_in_at)
    return uow.sessions.of_resident(
        community_id, resident_id, day_start, max(day_end, until or day_end)
    )


def closing(
    uow: AttendanceUnitOfWork, activity: Activity, resident_id: str, at: datetime
) -> tuple[Session, list[Session]]:
    """The resident's open session at the activity, locked, and their sessions from the start
    of its sign-in's day to the later of that day's end and the sign-out (as `day_of`).

    One read, of the sign-out's day and the day before, serves both as a rule: a session open
    longer, or signed in after the sign-out, is looked up again.
    """
    check_in_calendar(at, "the sign-out time")
    community_id = activity.community_id
    read_since, read_until = local_day(at)
    read_since -= timedelta(days=1)
    recent = uow.sessions.of_resident(community_id, resident_id, read_since, read_until, lock=True)
    open_here = [s for s in recent if s.activity_id == activity.id and s.signed_out_at is None]
    session = (
        open_here[0]
        if open_here
        else uow.sessions.open_for(community_id, activity.id, resident_id, lock=True)
    )
    if session is None:
        raise NotSignedIn("the resident is not signed in to this activity")
    day_start, day_end = local_day(session.signed_in_at)
    until = max(day_end, at)
    if read_since <= day_start and until <= read_until:
        return session, [s for s in recent if s.overlaps(day_start, until)]
    return session, day_of(
        uow, community_id, resident_id, session.signed_in_at, until=max(at, session.signed_in_at)
    )


def places(
    uow: AttendanceUnitOfWork,
    community_id: str,
    sessions: Sequence[Session],
    known: Activity | None = None,
) -> dict[str, str]:
    """The place of each activity the sessions belong to ('' if it has none); the activity
    already `known` (the one signed in or out of) is not loaded again."""
    found = {} if known is None else {known.id: known.place}
    for activity_id in {s.activity_id for s in sessions} - set(found):
        one = uow.activities.get(community_id, activity_id)
        found[activity_id] = "" if one is None else one.place
    return found


def attendees(uow: AttendanceUnitOfWork, activity: Activity, at: datetime, resident_id: str) -> int:
    """How many other residents signed in to the occurrence at that time (capped ones only)."""
    window = activity.window_at(at)
    # Only a capped activity needs to know who else is there.
    if window is None or not activity.capacity:
        return 0
    others = uow.sessions.at_occurrence(activity.community_id, activity.id, window.starts_at)
    return len({s.resident_id for s in others} - {resident_id})


def signed_in(uow: AttendanceUnitOfWork, activity: Activity, at: datetime) -> tuple[str, ...]:
    """Who has an open session at the latest occurrence begun by the time (sign-out's roster)."""
    begun = [w for w in activity.occurrences() if w.starts_at - EARLY_SIGN_IN <= at]
    if not begun:
        return ()
    sessions = uow.sessions.at_occurrence(activity.community_id, activity.id, begun[-1].starts_at)
    return tuple(dict.fromkeys(s.resident_id for s in sessions if s.signed_out_at is None))
