"""Use cases of sessions (A1, A2): sign-ins and outs, paper sheets, checklists, whom served."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from linli_attendance.domain import access
from linli_attendance.domain.activities import (
    REENROL_WINDOW,
    Activity,
    FaceMatch,
    FaceReenrolmentSuggested,
    Proof,
    Session,
    SignInMethod,
    reenrolment_due,
)
from linli_attendance.domain.limits import DEFAULT_LIMITS, LimitBook
from linli_attendance.domain.review import Concern, FlagKind
from linli_attendance.domain.roster import MAX_ROSTER
from linli_attendance.service_layer import lookups, roster
from linli_attendance.service_layer.commands import (
    EnterPaperSession,
    FacePresence,
    RecordChecklist,
    RecordServed,
    SignIn,
    SignOut,
)
from linli_attendance.service_layer.flagging import flagging_refusals, raise_flags
from linli_attendance.service_layer.leads import count_lead_run
from linli_attendance.service_layer.ports import (
    AttendanceUnitOfWork,
    FaceIdentifier,
    ResidentDirectory,
)
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent

# How far back a resident's face decisions are read for the re-enrolment prompt.
REENROL_LOOKBACK = timedelta(days=60)
STAFF_METHODS = (SignInMethod.STAFF_CONFIRMED, SignInMethod.QR_CODE, SignInMethod.PIN)
SessionCommand = (
    SignIn | SignOut | FacePresence | EnterPaperSession | RecordChecklist | RecordServed
)


def _reload(uow: AttendanceUnitOfWork, cmd: SessionCommand, ref: str) -> Session:
    return lookups.session(uow, cmd.community_id, ref)


@flagging_refusals
@idempotent(_reload)
def sign_in(
    cmd: SignIn,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> Session:
    """Open a session by the resident's own code or by staff, once the resident is known."""
    proof = _presence_proof(cmd)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id, cmd.resident_id)
    _check_staff_path(cmd, proof, activity, clock())
    lookups.known(residents, cmd.community_id, cmd.resident_id, "resident")
    now = clock()
    return _open(uow, activity, cmd.resident_id, proof, cmd.at or now, now, limits)


@flagging_refusals
@idempotent(_reload)
def sign_out(
    cmd: SignOut,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> Session:
    """Close the resident's open session; its SessionCompleted event leaves with the commit."""
    proof = _presence_proof(cmd)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id, cmd.resident_id)
    _check_staff_path(cmd, proof, activity, clock())
    lookups.known(residents, cmd.community_id, cmd.resident_id, "resident")
    now = clock()
    return _close(uow, activity, cmd.resident_id, proof, cmd.at or now, now, limits)


def face_sign_in(
    cmd: FacePresence,
    uow: AttendanceUnitOfWork,
    faces: FaceIdentifier,
    clock: Clock = utc_now,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> Session:
    """Identify who the kiosk saw (with liveness) and open their session."""
    access.check_kiosk_operator(cmd.actor, cmd.community_id)
    earlier, expected = _answered_or_kiosk_checked(cmd, uow, clock(), must_be_open=True)
    if earlier is not None:
        return earlier
    return _open_identified(cmd, uow, _identify(cmd, faces, expected), clock, limits=limits)


def face_sign_out(
    cmd: FacePresence,
    uow: AttendanceUnitOfWork,
    faces: FaceIdentifier,
    clock: Clock = utc_now,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> Session:
    """Identify who the kiosk saw (with liveness) and close their open session."""
    access.check_kiosk_operator(cmd.actor, cmd.community_id)
    earlier, expected = _answered_or_kiosk_checked(cmd, uow, clock(), must_be_open=False)
    if earlier is not None:
        return earlier
    return _close_identified(cmd, uow, _identify(cmd, faces, expected), clock, limits=limits)


@flagging_refusals
@idempotent(_reload)
def enter_paper_session(
    cmd: EnterPaperSession,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> Session:
    """Enter a session from a paper sign-in sheet in one step; it completes like any other."""
    staff_id = access.staff_member(cmd.actor, cmd.community_id)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id, cmd.resident_id)
    lookups.known(residents, cmd.community_id, cmd.resident_id, "resident")
    today = lookups.day_of(
        uow, cmd.community_id, cmd.resident_id, cmd.signed_in_at, until=cmd.signed_out_at
    )
    now = clock()
    session, concerns = activity.enter_from_sheet(
        cmd.resident_id,
        cmd.signed_in_at,
        cmd.signed_out_at,
        staff_id,
        cmd.reason,
        now,
        attendees=lookups.attendees(uow, activity, cmd.signed_in_at, cmd.resident_id),
        today=today,
        places=lookups.places(uow, cmd.community_id, today, activity),
        limits=limits.of(cmd.community_id),
    )
    uow.sessions.add(session)
    raise_flags(uow, session, concerns, now)
    count_lead_run(uow, activity, session, now)
    return session


@idempotent(_reload)
def record_checklist(cmd: RecordChecklist, uow: AttendanceUnitOfWork) -> Session:
    """Record which operating-checklist steps a session completed (staff or the lead)."""
    session = lookups.session(uow, cmd.community_id, cmd.session_id)
    lead = uow.leads.find(cmd.community_id, session.activity_id, cmd.actor.resident_id)
    access.check_records_checklist(cmd.actor, session, lead)
    session.record_checklist(
        lookups.activity(uow, cmd.community_id, session.activity_id), cmd.steps
    )
    uow.sessions.save(session)
    return session


@flagging_refusals
@idempotent(_reload)
def record_served(
    cmd: RecordServed,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> Session:
    """Record the residents a session served; only they may rate it."""
    staff_id = access.staff_member(cmd.actor, cmd.community_id)
    session = lookups.session(uow, cmd.community_id, cmd.session_id)
    for resident_id in cmd.resident_ids:
        lookups.known(residents, cmd.community_id, resident_id, "resident served")
    session.record_served(cmd.resident_ids, staff_id, clock())
    uow.sessions.save(session)
    return session


def get_session(
    actor: Principal, community_id: str, session_id: str, uow: AttendanceUnitOfWork
) -> Session:
    """A session with its correction history for its volunteer or staff, or NotFound."""
    with uow:
        session = lookups.session(uow, community_id, session_id)
    access.check_sees_session(actor, session)
    return session


Identified = tuple[str, FaceMatch]


@flagging_refusals
@idempotent(_reload)
def _open_identified(
    cmd: FacePresence,
    uow: AttendanceUnitOfWork,
    identified: Identified,
    clock: Clock,
    *,
    limits: LimitBook,
) -> Session:
    resident_id, match = identified
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id, resident_id)
    now = clock()
    proof = Proof(SignInMethod.FACE, "", cmd.kiosk_id, match)
    session = _open(uow, activity, resident_id, proof, now, now, limits)
    _review_face(uow, session, match, now)
    return session


@flagging_refusals
@idempotent(_reload)
def _close_identified(
    cmd: FacePresence,
    uow: AttendanceUnitOfWork,
    identified: Identified,
    clock: Clock,
    *,
    limits: LimitBook,
) -> Session:
    resident_id, match = identified
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id, resident_id)
    now = clock()
    proof = Proof(SignInMethod.FACE, "", cmd.kiosk_id, match)
    session = _close(uow, activity, resident_id, proof, now, now, limits)
    _review_face(uow, session, match, now)
    return session


def _review_face(
    uow: AttendanceUnitOfWork, session: Session, match: FaceMatch, now: datetime
) -> None:
    """Flag a face close call; prompt a re-enrolment when the resident's keep being close."""
    if match.concern is None:
        return
    raise_flags(uow, session, [match.concern], now)
    recent = uow.sessions.of_resident(
        session.community_id,
        session.resident_id,
        now - REENROL_LOOKBACK,
        now + timedelta(seconds=1),
    )
    decisions = sorted(
        (decision for s in recent for decision in s.face_decisions()), key=lambda d: d[0]
    )
    matches = [face for _, face in decisions]
    if not reenrolment_due(matches):
        return
    considered = matches[-REENROL_WINDOW:]
    needing = sum(face.needs_confirmation for face in considered)
    reason = (
        f"{needing} of the resident's last {len(considered)} face sign-ins or sign-outs needed "
        "staff confirmation: ask them to enrol their face again, with several good photos"
    )
    raise_flags(uow, session, [Concern(FlagKind.FACE_REENROLMENT, reason)], now)
    session.events.append(
        FaceReenrolmentSuggested(
            community_id=session.community_id,
            occurred_at=now,
            resident_id=session.resident_id,
            needing_confirmation=needing,
            considered=len(considered),
        )
    )


def _answered_or_kiosk_checked(
    cmd: FacePresence, uow: AttendanceUnitOfWork, now: datetime, *, must_be_open: bool
) -> tuple[Session | None, tuple[str, ...]]:
    """The session a retried request made; else, once kiosk (and opening) are checked, whom
    the kiosk may identify: the occurrence's roster to sign in, its open sessions to sign out."""
    # Identity is asked outside any transaction (a slow match must not hold database locks),
    # so a retry is answered here, before identity would be asked a second time.
    with uow:
        if (earlier := uow.requests.replay(cmd)) is not None:
            return lookups.session(uow, cmd.community_id, earlier), ()
        activity = lookups.activity(uow, cmd.community_id, cmd.activity_id)
        activity.check_kiosk(cmd.kiosk_id)
        if must_be_open:
            activity.check_open()
            expected = roster.expected_at(uow, cmd.community_id, activity.id, now)
            who = "on this occurrence's roster"
        else:
            expected = lookups.signed_in(uow, activity, now)
            who = "signed in to this occurrence"
    if not expected:
        raise FailedPrecondition(
            f"nobody is {who}, so a face cannot be identified here: sign in with the QR "
            "code or PIN, or ask staff"
        )
    if len(expected) > MAX_ROSTER:
        raise FailedPrecondition(
            f"more than {MAX_ROSTER} people are {who}, too many to tell apart by face: use the "
            "QR code or PIN, or ask staff"
        )
    return None, expected


def _open(
    uow: AttendanceUnitOfWork,
    activity: Activity,
    resident_id: str,
    proof: Proof,
    at: datetime,
    now: datetime,
    limits: LimitBook,
) -> Session:
    """Open a session; the activity was read with the resident's lock (`lookups.activity`)."""
    # Overlap and per-day checks read the resident's sessions: a concurrent sign-in elsewhere
    # must wait, or both could pass the check.
    community_id = activity.community_id
    today = lookups.day_of(uow, community_id, resident_id, at)
    session = activity.sign_in(
        resident_id,
        uow.sessions.open_for(community_id, activity.id, resident_id),
        proof.method,
        proof.confirmed_by,
        at,
        now,
        kiosk_id=proof.kiosk_id,
        face=proof.face,
        attendees=lookups.attendees(uow, activity, at, resident_id),
        today=today,
        places=lookups.places(uow, community_id, today, activity),
        limits=limits.of(community_id),
    )
    uow.sessions.add(session)
    return session


def _close(
    uow: AttendanceUnitOfWork,
    activity: Activity,
    resident_id: str,
    proof: Proof,
    at: datetime,
    now: datetime,
    limits: LimitBook,
) -> Session:
    """Close the open session; the activity was read with the resident's lock."""
    community_id = activity.community_id
    session, today = lookups.closing(uow, activity, resident_id, at)
    concerns = session.leave(
        activity,
        at,
        now,
        proof=proof,
        today=today,
        places=lookups.places(uow, community_id, today, activity),
        limits=limits.of(community_id),
    )
    uow.sessions.save(session)
    raise_flags(uow, session, concerns, now)
    count_lead_run(uow, activity, session, now)
    return session


def _identify(cmd: FacePresence, faces: FaceIdentifier, expected: Sequence[str]) -> Identified:
    if not cmd.frames:
        raise InvalidArgument("frames must hold a burst of at least one image")
    return faces.identify(cmd.community_id, expected, cmd.frames, cmd.challenge)


def _check_staff_path(
    cmd: SignIn | SignOut, proof: Proof, activity: Activity, now: datetime
) -> None:
    """Refuse (and flag) staff confirming themself; check the QR code or PIN."""
    if proof.confirmed_by:
        activity.check_confirmer(cmd.resident_id, proof.confirmed_by, now)
    if cmd.method is not SignInMethod.STAFF_CONFIRMED:
        activity.check_code(cmd.code)


def _presence_proof(cmd: SignIn | SignOut) -> Proof:
    """The method and its confirmer (the staff calling; nobody for the resident's own code)."""
    confirmer = access.presence_confirmer(cmd.actor, cmd.community_id, cmd.resident_id, cmd.method)
    if cmd.method not in STAFF_METHODS:
        raise InvalidArgument("a face sign-in goes through a kiosk, not a staff confirmation")
    if cmd.method is not SignInMethod.STAFF_CONFIRMED and not cmd.code:
        raise InvalidArgument("code is required for a QR or PIN sign-in")
    return Proof(cmd.method, confirmer)
