"""Protobuf messages of the attendance API from domain objects, and enum tables both ways."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.common.v1 import service_type_pb2

from linli_attendance.domain.activities import (
    Activity,
    FaceMatch,
    Proof,
    ScheduleKind,
    ServiceType,
    Session,
    SessionStatus,
    SignInMethod,
    Window,
)
from linli_attendance.domain.leads import LeadStatus, ProjectLead
from linli_attendance.domain.names import (
    ACTIVITY,
    FLAG,
    KIOSK,
    LEAD,
    RATING,
    SESSION,
    resident_name,
)
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.reports import RatingLine, RatingSummary, ServedHours
from linli_attendance.domain.review import Flag, FlagKind
from linli_attendance.domain.roster import RosterEntry, RosterRole
from linli_attendance.service_layer.ports import LivenessChallenge
from linli_kit.errors import InvalidArgument
from linli_kit.wire import timestamp

E = TypeVar("E")

# Each service type's code is the shared enum's value of the same name (as in the events).
SERVICE_TYPES = {
    service_type_pb2.ServiceType.Value(f"SERVICE_TYPE_{service_type.name}"): service_type
    for service_type in ServiceType
}
SERVICE_TYPE_CODES = {service_type: code for code, service_type in SERVICE_TYPES.items()}
# The API keeps its wire name ActivityKind; in the domain it is the schedule kind.
KINDS = {
    pb.ACTIVITY_KIND_ROUTINE: ScheduleKind.ROUTINE,
    pb.ACTIVITY_KIND_PERIODIC: ScheduleKind.PERIODIC,
    pb.ACTIVITY_KIND_EMERGENCY: ScheduleKind.EMERGENCY,
}
KIND_CODES = {kind: code for code, kind in KINDS.items()}
METHODS = {
    pb.SIGN_IN_METHOD_STAFF_CONFIRMED: SignInMethod.STAFF_CONFIRMED,
    pb.SIGN_IN_METHOD_QR_CODE: SignInMethod.QR_CODE,
    pb.SIGN_IN_METHOD_PIN: SignInMethod.PIN,
    pb.SIGN_IN_METHOD_FACE: SignInMethod.FACE,
    pb.SIGN_IN_METHOD_PAPER_SHEET: SignInMethod.PAPER_SHEET,
}
METHOD_CODES = {method: code for code, method in METHODS.items()}
STATUSES = {
    SessionStatus.OPEN: pb.SESSION_STATUS_OPEN,
    SessionStatus.COMPLETED: pb.SESSION_STATUS_COMPLETED,
    SessionStatus.PENDING_REVIEW: pb.SESSION_STATUS_PENDING_REVIEW,
}
FLAG_KINDS = {
    FlagKind.TWO_SITES: pb.FLAG_KIND_TWO_SITES,
    FlagKind.TOO_MANY_SESSIONS: pb.FLAG_KIND_TOO_MANY_SESSIONS,
    FlagKind.SELF_CONFIRMATION: pb.FLAG_KIND_SELF_CONFIRMATION,
    FlagKind.FORGOTTEN_SIGN_OUT: pb.FLAG_KIND_FORGOTTEN_SIGN_OUT,
    FlagKind.TIME_CAP: pb.FLAG_KIND_TIME_CAP,
    FlagKind.FACE_UNCERTAIN: pb.FLAG_KIND_FACE_UNCERTAIN,
    FlagKind.FACE_REENROLMENT: pb.FLAG_KIND_FACE_REENROLMENT,
}
LEAD_STATES = {
    LeadStatus.APPLIED: pb.PROJECT_LEAD_STATE_APPLIED,
    LeadStatus.APPROVED: pb.PROJECT_LEAD_STATE_APPROVED,
    LeadStatus.PROMOTED: pb.PROJECT_LEAD_STATE_PROMOTED,
}
ROSTER_ROLES = {
    pb.ROSTER_ROLE_VOLUNTEER: RosterRole.VOLUNTEER,
    pb.ROSTER_ROLE_STAFF: RosterRole.STAFF,
}
ROSTER_ROLE_CODES = {role: code for code, role in ROSTER_ROLES.items()}
CHALLENGES = {
    pb.LIVENESS_CHALLENGE_BLINK: LivenessChallenge.BLINK,
    pb.LIVENESS_CHALLENGE_HEAD_TURN: LivenessChallenge.HEAD_TURN,
}


def enum(table: Mapping[int, E], value: int, field: str) -> E:
    """The domain value of an enum code, or InvalidArgument naming the field."""
    if value not in table:
        raise InvalidArgument(f"{field} must be set to one of the defined values")
    return table[value]


def time(message: Timestamp, present: bool) -> datetime | None:
    """A timestamp field as an aware datetime, or None when it is unset."""
    return message.ToDatetime(tzinfo=UTC) if present else None


def _window(window: Window) -> pb.TimeWindow:
    return pb.TimeWindow(start_time=timestamp(window.starts_at), end_time=timestamp(window.ends_at))


def activity_message(activity: Activity) -> pb.Activity:
    """An activity as its protobuf message."""
    community = activity.community_id
    return pb.Activity(
        name=activity.name,
        title=activity.title,
        service_type=SERVICE_TYPE_CODES[activity.service_type],
        kind=KIND_CODES[activity.kind],
        start_time=timestamp(activity.starts_at),
        end_time=timestamp(activity.ends_at),
        create_time=timestamp(activity.created_at),
        place=activity.place,
        capacity=activity.capacity,
        occurrence_count=activity.occurrence_count,
        kiosks=[KIOSK.format(community=community, kiosk=k) for k in activity.kiosk_ids],
        checklist=list(activity.checklist),
        org_units=list(activity.org_units),
        check_in_code=activity.check_in_code,
        close_time=timestamp(activity.closed_at),
        occurrences=[_window(w) for w in activity.occurrences()],
    )


def _face(face: FaceMatch | None) -> pb.FaceDecision | None:
    if face is None:
        return None
    return pb.FaceDecision(
        engine=face.engine,
        model_version=face.model_version,
        similarity=face.similarity,
        threshold=face.threshold,
        gallery_size=face.gallery_size,
        second_similarity=face.second_similarity,
        required_margin=face.required_margin,
        verification_threshold=face.verification_threshold,
        agreeing_frames=face.agreeing_frames,
        frames=face.frames,
        needs_staff_confirmation=face.needs_confirmation,
    )


def _record(community_id: str, proof: Proof) -> pb.PresenceRecord:
    return pb.PresenceRecord(
        method=METHOD_CODES[proof.method],
        confirmed_by=resident_name(community_id, proof.confirmed_by),
        kiosk=KIOSK.format(community=community_id, kiosk=proof.kiosk_id) if proof.kiosk_id else "",
        face=_face(proof.face),
    )


def session_name(session: Session) -> str:
    """A session's resource name."""
    return SESSION.format(
        community=session.community_id, activity=session.activity_id, session=session.id
    )


def session_message(session: Session) -> pb.Session:
    """A session as its protobuf message."""
    community = session.community_id
    sign_in = _record(community, session.sign_in_proof)
    out = session.sign_out_proof
    return pb.Session(
        name=session_name(session),
        resident=resident_name(community, session.resident_id),
        method=sign_in.method,
        confirmed_by=sign_in.confirmed_by,
        sign_in_time=timestamp(session.signed_in_at),
        sign_out_time=timestamp(session.signed_out_at),
        duration_seconds=session.duration_seconds,
        status=STATUSES[session.status],
        sign_in=sign_in,
        sign_out=None if out is None else _record(community, out),
        window=_window(session.window),
        checklist_done=list(session.checklist_done),
        corrections=[
            pb.SessionCorrection(
                previous_duration_seconds=c.previous_duration_seconds,
                duration_seconds=c.duration_seconds,
                corrected_by=resident_name(community, c.corrected_by),
                reason=c.reason,
                correct_time=timestamp(c.corrected_at),
            )
            for c in session.corrections
        ],
        complete_time=timestamp(session.completed_at),
        reviewed_by=resident_name(community, session.reviewed_by),
        served=[resident_name(community, r) for r in session.served],
        paper_sheet_reason=session.paper_sheet_reason,
    )


def flag_message(flag: Flag) -> pb.Flag:
    """A flag as its protobuf message."""
    community = flag.community_id
    session = (
        SESSION.format(community=community, activity=flag.activity_id, session=flag.session_id)
        if flag.session_id
        else ""
    )
    return pb.Flag(
        name=FLAG.format(community=community, flag=flag.id),
        kind=FLAG_KINDS[flag.kind],
        reason=flag.reason,
        resident=resident_name(community, flag.resident_id),
        activity=ACTIVITY.format(community=community, activity=flag.activity_id),
        session=session,
        raise_time=timestamp(flag.raised_at),
        resolved_by=resident_name(community, flag.resolved_by),
        resolve_time=timestamp(flag.resolved_at),
    )


def rating_message(session: dict[str, str], rating: Rating) -> pb.Rating:
    """A rating as its protobuf message, under the session named by its ids."""
    return pb.Rating(
        name=RATING.format(**session, resident=rating.rated_by),
        rated_by=resident_name(rating.community_id, rating.rated_by),
        stars=rating.stars,
        rate_time=timestamp(rating.rated_at),
    )


def served_hours_message(hours: ServedHours) -> pb.ServedHours:
    """One month's hours of one service type as its protobuf message."""
    return pb.ServedHours(
        month=hours.month,
        service_type=SERVICE_TYPE_CODES[hours.service_type],
        served_seconds=hours.served_seconds,
        sessions=hours.sessions,
        volunteers=hours.volunteers,
        held_seconds=hours.held_seconds,
        held_sessions=hours.held_sessions,
    )


def rated_session_message(line: RatingLine) -> pb.RatedSession:
    """A rating with its session, volunteer and activity as its protobuf message."""
    ids = {"community": line.community_id, "activity": line.activity_id}
    session = {**ids, "session": line.session_id}
    rating = Rating(
        community_id=line.community_id,
        session_id=line.session_id,
        rated_by=line.rated_by,
        stars=line.stars,
        rated_at=line.rated_at,
    )
    return pb.RatedSession(
        rating=rating_message(session, rating),
        session=SESSION.format(**session),
        volunteer=resident_name(line.community_id, line.volunteer_id),
        activity=ACTIVITY.format(**ids),
        activity_title=line.activity_title,
        service_type=SERVICE_TYPE_CODES[line.service_type],
    )


def rating_summary_message(found: RatingSummary) -> pb.RatingSummary:
    """Ratings counted together as their protobuf message (overall: no service type)."""
    return pb.RatingSummary(
        service_type=0 if found.service_type is None else SERVICE_TYPE_CODES[found.service_type],
        count=found.count,
        mean_stars=found.mean_stars,
        star_counts=list(found.star_counts),
    )


def lead_message(lead: ProjectLead) -> pb.ProjectLead:
    """A project-lead application as its protobuf message."""
    community = lead.community_id
    return pb.ProjectLead(
        name=LEAD.format(community=community, lead=lead.id),
        activity=ACTIVITY.format(community=community, activity=lead.activity_id),
        resident=resident_name(community, lead.resident_id),
        motivation=lead.motivation,
        state=LEAD_STATES[lead.status],
        approved_by=resident_name(community, lead.approved_by),
        runs=[timestamp(run) for run in lead.runs],
        apply_time=timestamp(lead.applied_at),
        approve_time=timestamp(lead.approved_at),
        promote_time=timestamp(lead.promoted_at),
    )


def roster_entry_message(entry: RosterEntry) -> pb.RosterEntry:
    """A roster entry as its protobuf message."""
    community = entry.community_id
    return pb.RosterEntry(
        activity=ACTIVITY.format(community=community, activity=entry.activity_id),
        occurrence_start_time=timestamp(entry.occurrence_starts_at),
        resident=resident_name(community, entry.resident_id),
        role=ROSTER_ROLE_CODES[entry.role],
        added_by=(
            entry.added_by
            if entry.added_by == "training"
            else resident_name(community, entry.added_by)
        ),
        add_time=timestamp(entry.added_at),
    )
