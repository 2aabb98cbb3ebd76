"""Attendance use cases: plain functions taking a command, a unit of work and collaborators."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from linli_attendance.domain.activities import (
    SIGN_OUT_GRACE,
    Activity,
    ActivityKind,
    FaceMatch,
    NotSignedIn,
    Proof,
    ServiceType,
    Session,
    SessionStatus,
    SignInMethod,
    check_presence,
    checklist_steps,
    counted_on_day,
    local_day,
)
from linli_attendance.domain.leads import ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.review import Concern, Flag, SelfConfirmation, Suspicious
from linli_attendance.service_layer.ports import (
    AttendanceUnitOfWork,
    FaceIdentifier,
    LivenessChallenge,
    ResidentDirectory,
)
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied

STAFF_METHODS = (SignInMethod.STAFF_CONFIRMED, SignInMethod.QR_CODE, SignInMethod.PIN)


@dataclass(frozen=True)
class CreateActivity:
    """Plan an activity in a community; an emergency one starts now."""

    community_id: str
    title: str
    service_type: ServiceType
    kind: ActivityKind
    starts_at: datetime | None
    ends_at: datetime
    request_id: str = ""
    place: str = ""
    capacity: int = 0
    occurrence_count: int = 1
    kiosk_ids: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    checklist_template: str = ""


@dataclass(frozen=True)
class CloseActivity:
    """Stop accepting sign-ins to an activity."""

    community_id: str
    activity_id: str
    request_id: str = ""


@dataclass(frozen=True)
class SignIn:
    """Open a session for a resident at an activity, confirmed by staff."""

    community_id: str
    activity_id: str
    resident_id: str
    method: SignInMethod
    confirmed_by: str
    at: datetime | None = None
    request_id: str = ""
    code: str = ""


@dataclass(frozen=True)
class SignOut:
    """Close a resident's open session at an activity, confirmed by staff."""

    community_id: str
    activity_id: str
    resident_id: str
    method: SignInMethod
    confirmed_by: str
    at: datetime | None = None
    request_id: str = ""
    code: str = ""


@dataclass(frozen=True)
class FacePresence:
    """A kiosk saw someone sign in or out: the burst of frames and the liveness challenge."""

    community_id: str
    activity_id: str
    kiosk_id: str
    frames: tuple[bytes, ...]
    challenge: LivenessChallenge
    request_id: str = ""


@dataclass(frozen=True)
class ConfirmSession:
    """A staff member confirms a session held for review."""

    community_id: str
    session_id: str
    staff_id: str
    request_id: str = ""


@dataclass(frozen=True)
class CorrectSession:
    """A staff member sets a session's counted duration, with a reason."""

    community_id: str
    session_id: str
    duration_seconds: int
    reason: str
    staff_id: str
    request_id: str = ""


@dataclass(frozen=True)
class RecordChecklist:
    """Mark operating-checklist steps as done for a session."""

    community_id: str
    session_id: str
    steps: tuple[str, ...]
    request_id: str = ""


@dataclass(frozen=True)
class ResolveFlag:
    """A staff member marks a flag as dealt with."""

    community_id: str
    flag_id: str
    staff_id: str
    request_id: str = ""


@dataclass(frozen=True)
class RateSession:
    """A resident served gives a session 1 to 5 stars."""

    community_id: str
    session_id: str
    rated_by: str
    stars: int
    request_id: str = ""


@dataclass(frozen=True)
class ApplyProjectLead:
    """A volunteer applies to lead a project."""

    community_id: str
    activity_id: str
    resident_id: str
    motivation: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class ApproveProjectLead:
    """A staff member approves an application to lead."""

    community_id: str
    lead_id: str
    staff_id: str
    request_id: str = ""


def create_activity(
    cmd: CreateActivity, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Activity:
    """Plan an activity; a retry with the same request id returns it again."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _activity(uow, cmd.community_id, done)
        now = clock()
        activity = Activity.plan(
            cmd.community_id,
            cmd.title,
            cmd.service_type,
            cmd.kind,
            cmd.starts_at or now,
            cmd.ends_at,
            now,
            place=cmd.place,
            capacity=cmd.capacity,
            occurrence_count=cmd.occurrence_count,
            kiosk_ids=cmd.kiosk_ids,
            checklist=checklist_steps(cmd.checklist, cmd.checklist_template),
            org_units=cmd.org_units,
        )
        uow.activities.add(activity)
        uow.requests.remember(cmd, activity.id)
        uow.commit()
        return activity


def close_activity(
    cmd: CloseActivity, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Activity:
    """Close an activity to new sign-ins."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _activity(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        activity.close(clock())
        uow.activities.save(activity)
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
    """Open a staff-confirmed (staff, QR or PIN) session once resident and staff are known."""
    _check_method(cmd)
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        _check_staff_path(uow, cmd, activity, clock())
        _known(residents, cmd.community_id, cmd.resident_id, "resident")
        _known(residents, cmd.community_id, cmd.confirmed_by, "confirming staff member")
        now = clock()
        proof = Proof(cmd.method, cmd.confirmed_by)
        session = _open(uow, activity, cmd.resident_id, proof, cmd.at or now, now)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def sign_out(cmd: SignOut, uow: AttendanceUnitOfWork, clock: Clock = utc_now) -> Session:
    """Close the resident's open session; its SessionCompleted event leaves with the commit."""
    _check_method(cmd)
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        _check_staff_path(uow, cmd, activity, clock())
        now = clock()
        proof = Proof(cmd.method, cmd.confirmed_by)
        session = _close(uow, activity, cmd.resident_id, proof, cmd.at or now, now)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def face_sign_in(
    cmd: FacePresence, uow: AttendanceUnitOfWork, faces: FaceIdentifier, clock: Clock = utc_now
) -> Session:
    """Identify who the kiosk saw (with liveness) and open their session."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        activity.check_kiosk(cmd.kiosk_id)
        activity.check_open()
    # Identity is asked outside any transaction: a slow match must not hold database locks.
    resident_id, match = _identify(cmd, faces)
    with uow:
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        now = clock()
        proof = Proof(SignInMethod.FACE, "", cmd.kiosk_id, match)
        session = _open(uow, activity, resident_id, proof, now, now)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def face_sign_out(
    cmd: FacePresence, uow: AttendanceUnitOfWork, faces: FaceIdentifier, clock: Clock = utc_now
) -> Session:
    """Identify who the kiosk saw (with liveness) and close their open session."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        _activity(uow, cmd.community_id, cmd.activity_id).check_kiosk(cmd.kiosk_id)
    resident_id, match = _identify(cmd, faces)
    with uow:
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        now = clock()
        proof = Proof(SignInMethod.FACE, "", cmd.kiosk_id, match)
        session = _close(uow, activity, resident_id, proof, now, now)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def close_forgotten_sessions(
    uow: AttendanceUnitOfWork, clock: Clock = utc_now, limit: int = 100
) -> int:
    """Close sessions left open past the sign-out grace, held for staff review; how many."""
    with uow:
        now = clock()
        forgotten = uow.sessions.forgotten(now - SIGN_OUT_GRACE, limit)
        for session in forgotten:
            day = _day_of(uow, session)
            concerns = session.close_forgotten(now, counted_on_day(day, session.signed_in_at))
            uow.sessions.save(session)
            _raise_flags(uow, session, concerns, now)
        uow.commit()
        return len(forgotten)


def get_session(community_id: str, session_id: str, uow: AttendanceUnitOfWork) -> Session:
    """A session with its correction history, or NotFound."""
    with uow:
        return _session(uow, community_id, session_id)


def confirm_session(
    cmd: ConfirmSession,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> Session:
    """Confirm a session held for review; its SessionCompleted leaves with the commit."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        session = _session(uow, cmd.community_id, cmd.session_id)
        activity = _activity(uow, cmd.community_id, session.activity_id)
        _known(residents, cmd.community_id, cmd.staff_id, "confirming staff member")
        now = clock()
        with _flagging(uow, cmd.community_id, session.resident_id, activity.id, session.id, now):
            session.confirm(activity, cmd.staff_id, now)
        _finish_review(uow, session, activity, cmd.staff_id, now)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def correct_session(
    cmd: CorrectSession,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> Session:
    """Correct a session's counted duration; SessionCorrected leaves with the commit."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        session = _session(uow, cmd.community_id, cmd.session_id)
        activity = _activity(uow, cmd.community_id, session.activity_id)
        _known(residents, cmd.community_id, cmd.staff_id, "correcting staff member")
        now = clock()
        with _flagging(uow, cmd.community_id, session.resident_id, activity.id, session.id, now):
            session.correct(activity, cmd.duration_seconds, cmd.staff_id, cmd.reason, now)
        _finish_review(uow, session, activity, cmd.staff_id, now)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def record_checklist(cmd: RecordChecklist, uow: AttendanceUnitOfWork) -> Session:
    """Record which operating-checklist steps a session completed."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _session(uow, cmd.community_id, done)
        session = _session(uow, cmd.community_id, cmd.session_id)
        session.record_checklist(_activity(uow, cmd.community_id, session.activity_id), cmd.steps)
        uow.sessions.save(session)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return session


def list_flags(
    community_id: str, open_only: bool, offset: int, limit: int, uow: AttendanceUnitOfWork
) -> tuple[list[Flag], bool]:
    """A page of a community's flags, newest first, and whether more follow."""
    with uow:
        flags = uow.flags.page(community_id, open_only, offset, limit + 1)
        return flags[:limit], len(flags) > limit


def resolve_flag(
    cmd: ResolveFlag,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> Flag:
    """Mark a flag as dealt with; nobody resolves a flag about themself."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _flag(uow, cmd.community_id, done)
        flag = _flag(uow, cmd.community_id, cmd.flag_id)
        if cmd.staff_id == flag.resident_id:
            raise PermissionDenied("nobody resolves a flag about themself")
        _known(residents, cmd.community_id, cmd.staff_id, "resolving staff member")
        flag.resolve(cmd.staff_id, clock())
        uow.flags.save(flag)
        uow.requests.remember(cmd, flag.id)
        uow.commit()
        return flag


def rate_session(
    cmd: RateSession,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> Rating:
    """Rate a completed session; SessionRated leaves with the commit."""
    with uow:
        if uow.requests.replay(cmd) is not None:
            return _rating(uow, cmd)
        session = _session(uow, cmd.community_id, cmd.session_id)
        _known(residents, cmd.community_id, cmd.rated_by, "rating resident")
        if uow.ratings.get(cmd.community_id, cmd.session_id, cmd.rated_by) is not None:
            raise AlreadyExists("this resident has already rated this session")
        served_too = uow.sessions.at_occurrence(
            cmd.community_id, session.activity_id, session.window.starts_at
        )
        rating = Rating.give(
            session, cmd.rated_by, cmd.stars, clock(), {s.resident_id for s in served_too}
        )
        uow.ratings.add(rating)
        uow.requests.remember(cmd, session.id)
        uow.commit()
        return rating


def apply_project_lead(
    cmd: ApplyProjectLead,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> ProjectLead:
    """Record a volunteer's application to lead a project."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _lead(uow, cmd.community_id, done)
        activity = _activity(uow, cmd.community_id, cmd.activity_id)
        _known(residents, cmd.community_id, cmd.resident_id, "resident")
        if uow.leads.find(cmd.community_id, activity.id, cmd.resident_id) is not None:
            raise AlreadyExists("the resident has already applied to lead this project")
        lead = ProjectLead.apply(
            cmd.community_id, activity.id, cmd.resident_id, cmd.motivation, clock()
        )
        uow.leads.add(lead)
        uow.requests.remember(cmd, lead.id)
        uow.commit()
        return lead


def approve_project_lead(
    cmd: ApproveProjectLead,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> ProjectLead:
    """A staff member approves an application to lead a project."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return _lead(uow, cmd.community_id, done)
        lead = _lead(uow, cmd.community_id, cmd.lead_id)
        _known(residents, cmd.community_id, cmd.staff_id, "approving staff member")
        now = clock()
        with _flagging(uow, cmd.community_id, lead.resident_id, lead.activity_id, "", now):
            lead.approve(cmd.staff_id, now)
        uow.leads.save(lead)
        uow.requests.remember(cmd, lead.id)
        uow.commit()
        return lead


def get_project_lead(community_id: str, lead_id: str, uow: AttendanceUnitOfWork) -> ProjectLead:
    """An application to lead, or NotFound."""
    with uow:
        return _lead(uow, community_id, lead_id)


def _open(
    uow: AttendanceUnitOfWork,
    activity: Activity,
    resident_id: str,
    proof: Proof,
    at: datetime,
    now: datetime,
) -> Session:
    community_id = activity.community_id
    # Overlap and per-day checks read the resident's sessions: a concurrent sign-in elsewhere
    # must wait, or both could pass the check.
    uow.sessions.lock_resident(community_id, resident_id)
    window = activity.window_at(at)
    # Only a capped activity needs to know who else is there.
    others = (
        uow.sessions.at_occurrence(community_id, activity.id, window.starts_at)
        if window is not None and activity.capacity
        else []
    )
    session = activity.sign_in(
        resident_id,
        uow.sessions.open_for(community_id, activity.id, resident_id),
        proof.method,
        proof.confirmed_by,
        at,
        now,
        kiosk_id=proof.kiosk_id,
        face=proof.face,
        attendees=len({s.resident_id for s in others} - {resident_id}),
    )
    day_start, day_end = local_day(at)
    mine = uow.sessions.of_resident(community_id, resident_id, day_start, day_end)
    with _flagging(uow, community_id, resident_id, activity.id, "", now):
        check_presence(activity, resident_id, at, None, mine, _places(uow, community_id, mine))
    uow.sessions.add(session)
    return session


def _close(
    uow: AttendanceUnitOfWork,
    activity: Activity,
    resident_id: str,
    proof: Proof,
    at: datetime,
    now: datetime,
) -> Session:
    community_id = activity.community_id
    uow.sessions.lock_resident(community_id, resident_id)
    session = uow.sessions.open_for(community_id, activity.id, resident_id, lock=True)
    if session is None:
        raise NotSignedIn("the resident is not signed in to this activity")
    day = _day_of(uow, session, until=max(at, session.signed_in_at))
    others = [s for s in day if s.id != session.id]
    if at >= session.signed_in_at:
        with _flagging(uow, community_id, resident_id, activity.id, session.id, now):
            places = _places(uow, community_id, others)
            check_presence(activity, resident_id, session.signed_in_at, at, others, places)
    concerns = session.sign_out(
        activity, at, now, proof=proof, counted_today=counted_on_day(others, session.signed_in_at)
    )
    uow.sessions.save(session)
    _raise_flags(uow, session, concerns, now)
    _count_lead_run(uow, session, now)
    return session


def _finish_review(
    uow: AttendanceUnitOfWork, session: Session, activity: Activity, staff_id: str, now: datetime
) -> None:
    for flag in uow.flags.open_for_session(session.community_id, session.id):
        flag.resolve(staff_id, now)
        uow.flags.save(flag)
    uow.sessions.save(session)
    _count_lead_run(uow, session, now)


def _count_lead_run(uow: AttendanceUnitOfWork, session: Session, now: datetime) -> None:
    if session.status is not SessionStatus.COMPLETED or session.duration_seconds == 0:
        return
    lead = uow.leads.find(session.community_id, session.activity_id, session.resident_id)
    if lead is not None:
        lead.record_run(session.window.starts_at, now)
        uow.leads.save(lead)


def _day_of(
    uow: AttendanceUnitOfWork, session: Session, until: datetime | None = None
) -> list[Session]:
    day_start, day_end = local_day(session.signed_in_at)
    return uow.sessions.of_resident(
        session.community_id, session.resident_id, day_start, max(day_end, until or day_end)
    )


def _places(
    uow: AttendanceUnitOfWork, community_id: str, sessions: list[Session]
) -> dict[str, str]:
    places = {}
    for activity_id in {s.activity_id for s in sessions}:
        found = uow.activities.get(community_id, activity_id)
        places[activity_id] = "" if found is None else found.place
    return places


def _raise_flags(
    uow: AttendanceUnitOfWork, session: Session, concerns: list[Concern], now: datetime
) -> None:
    for concern in concerns:
        uow.flags.add(
            Flag.raise_(
                session.community_id,
                concern,
                session.resident_id,
                session.activity_id,
                session.id,
                now,
            )
        )


@contextmanager
def _flagging(
    uow: AttendanceUnitOfWork,
    community_id: str,
    resident_id: str,
    activity_id: str,
    session_id: str,
    now: datetime,
) -> Iterator[None]:
    """Record a suspicious refusal as a flag staff can see, then refuse."""
    try:
        yield
    except Suspicious as refusal:
        uow.rollback()
        concern = Concern(refusal.kind, str(refusal))
        uow.flags.add(Flag.raise_(community_id, concern, resident_id, activity_id, session_id, now))
        uow.commit()
        raise


def _identify(cmd: FacePresence, faces: FaceIdentifier) -> tuple[str, FaceMatch]:
    if not cmd.frames:
        raise InvalidArgument("frames must hold a burst of at least one image")
    return faces.identify(cmd.community_id, cmd.frames, cmd.challenge)


def _check_staff_path(
    uow: AttendanceUnitOfWork, cmd: SignIn | SignOut, activity: Activity, now: datetime
) -> None:
    """Refuse (and flag) staff confirming themself; check the QR code or PIN."""
    if cmd.confirmed_by == cmd.resident_id:
        with _flagging(uow, cmd.community_id, cmd.resident_id, cmd.activity_id, "", now):
            raise SelfConfirmation("staff cannot confirm their own attendance")
    if cmd.method is not SignInMethod.STAFF_CONFIRMED:
        activity.check_code(cmd.code)


def _check_method(cmd: SignIn | SignOut) -> None:
    if cmd.method not in STAFF_METHODS:
        raise InvalidArgument("a face sign-in goes through a kiosk, not a staff confirmation")
    if not cmd.confirmed_by:
        raise InvalidArgument("confirmed_by is required for a staff-confirmed sign-in")
    if cmd.method is not SignInMethod.STAFF_CONFIRMED and not cmd.code:
        raise InvalidArgument("code is required for a QR or PIN sign-in")


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


def _lead(uow: AttendanceUnitOfWork, community_id: str, lead_id: str) -> ProjectLead:
    lead = uow.leads.get(community_id, lead_id)
    if lead is None:
        raise NotFound(f"communities/{community_id}/projectLeads/{lead_id} does not exist")
    return lead


def _flag(uow: AttendanceUnitOfWork, community_id: str, flag_id: str) -> Flag:
    flag = uow.flags.get(community_id, flag_id)
    if flag is None:
        raise NotFound(f"communities/{community_id}/flags/{flag_id} does not exist")
    return flag


def _rating(uow: AttendanceUnitOfWork, cmd: RateSession) -> Rating:
    rating = uow.ratings.get(cmd.community_id, cmd.session_id, cmd.rated_by)
    if rating is None:
        raise NotFound(f"no rating of session {cmd.session_id} by {cmd.rated_by}")
    return rating
