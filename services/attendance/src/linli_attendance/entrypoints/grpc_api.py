"""The AttendanceService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.adapters.events import SERVICE_TYPE_CODES
from linli_attendance.domain.activities import (
    Activity,
    ActivityKind,
    FaceMatch,
    Proof,
    Session,
    SessionStatus,
    SignInMethod,
    Window,
)
from linli_attendance.domain.leads import LeadStatus, ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.review import Flag, FlagKind
from linli_attendance.service_layer import handlers
from linli_attendance.service_layer.ports import (
    AttendanceUnitOfWork,
    FaceIdentifier,
    LivenessChallenge,
    ResidentDirectory,
)
from linli_kit import metrics
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, encode_page_token, page_size, parse_name

E = TypeVar("E")
COMMUNITY = "communities/{community}"
ACTIVITY = "communities/{community}/activities/{activity}"
SESSION = "communities/{community}/activities/{activity}/sessions/{session}"
RESIDENT = "communities/{community}/residents/{resident}"
KIOSK = "communities/{community}/kiosks/{kiosk}"
LEAD = "communities/{community}/projectLeads/{lead}"
FLAG = "communities/{community}/flags/{flag}"

# The service-type codes are the events' mapping, read backwards: one table for both.
SERVICE_TYPES = {code: service_type for service_type, code in SERVICE_TYPE_CODES.items()}
KINDS = {
    pb.ACTIVITY_KIND_ROUTINE: ActivityKind.ROUTINE,
    pb.ACTIVITY_KIND_PERIODIC: ActivityKind.PERIODIC,
    pb.ACTIVITY_KIND_EMERGENCY: ActivityKind.EMERGENCY,
}
KIND_CODES = {kind: code for code, kind in KINDS.items()}
METHODS = {
    pb.SIGN_IN_METHOD_STAFF_CONFIRMED: SignInMethod.STAFF_CONFIRMED,
    pb.SIGN_IN_METHOD_QR_CODE: SignInMethod.QR_CODE,
    pb.SIGN_IN_METHOD_PIN: SignInMethod.PIN,
    pb.SIGN_IN_METHOD_FACE: SignInMethod.FACE,
}
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
    FlagKind.DAILY_CAP: pb.FLAG_KIND_DAILY_CAP,
}
LEAD_STATES = {
    LeadStatus.APPLIED: pb.PROJECT_LEAD_STATE_APPLIED,
    LeadStatus.APPROVED: pb.PROJECT_LEAD_STATE_APPROVED,
    LeadStatus.PROMOTED: pb.PROJECT_LEAD_STATE_PROMOTED,
}
CHALLENGES = {
    pb.LIVENESS_CHALLENGE_BLINK: LivenessChallenge.BLINK,
    pb.LIVENESS_CHALLENGE_HEAD_TURN: LivenessChallenge.HEAD_TURN,
}


def _enum(table: Mapping[int, E], value: int, field: str) -> E:
    if value not in table:
        raise InvalidArgument(f"{field} must be set to one of the defined values")
    return table[value]


def _time(message: Timestamp, present: bool) -> datetime | None:
    return message.ToDatetime(tzinfo=UTC) if present else None


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _same_community(*communities: str) -> str:
    if len(set(communities)) != 1:
        raise InvalidArgument("all names in a request must be in one community")
    return communities[0]


def _window(window: Window) -> pb.TimeWindow:
    return pb.TimeWindow(
        start_time=_timestamp(window.starts_at), end_time=_timestamp(window.ends_at)
    )


def activity_message(activity: Activity) -> pb.Activity:
    """An activity as its protobuf message."""
    prefix = f"communities/{activity.community_id}"
    return pb.Activity(
        name=f"{prefix}/activities/{activity.id}",
        title=activity.title,
        service_type=SERVICE_TYPE_CODES[activity.service_type],
        kind=KIND_CODES[activity.kind],
        start_time=_timestamp(activity.starts_at),
        end_time=_timestamp(activity.ends_at),
        create_time=_timestamp(activity.created_at),
        place=activity.place,
        capacity=activity.capacity,
        occurrence_count=activity.occurrence_count,
        kiosks=[f"{prefix}/kiosks/{kiosk}" for kiosk in activity.kiosk_ids],
        checklist=list(activity.checklist),
        org_units=list(activity.org_units),
        check_in_code=activity.check_in_code,
        close_time=_timestamp(activity.closed_at),
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
    )


def _record(community_id: str, proof: Proof | None) -> pb.PresenceRecord | None:
    if proof is None:
        return None
    methods = {v: k for k, v in METHODS.items()}
    prefix = f"communities/{community_id}"
    return pb.PresenceRecord(
        method=methods[proof.method],
        confirmed_by=f"{prefix}/residents/{proof.confirmed_by}" if proof.confirmed_by else "",
        kiosk=f"{prefix}/kiosks/{proof.kiosk_id}" if proof.kiosk_id else "",
        face=_face(proof.face),
    )


def session_message(session: Session) -> pb.Session:
    """A session as its protobuf message."""
    prefix = f"communities/{session.community_id}"
    sign_in = _record(session.community_id, session.sign_in_proof)
    assert sign_in is not None
    return pb.Session(
        name=f"{prefix}/activities/{session.activity_id}/sessions/{session.id}",
        resident=f"{prefix}/residents/{session.resident_id}",
        method=sign_in.method,
        confirmed_by=sign_in.confirmed_by,
        sign_in_time=_timestamp(session.signed_in_at),
        sign_out_time=_timestamp(session.signed_out_at),
        duration_seconds=session.duration_seconds,
        status=STATUSES[session.status],
        sign_in=sign_in,
        sign_out=_record(session.community_id, session.sign_out_proof),
        window=_window(session.window),
        checklist_done=list(session.checklist_done),
        corrections=[
            pb.SessionCorrection(
                previous_duration_seconds=c.previous_duration_seconds,
                duration_seconds=c.duration_seconds,
                corrected_by=f"{prefix}/residents/{c.corrected_by}",
                reason=c.reason,
                correct_time=_timestamp(c.corrected_at),
            )
            for c in session.corrections
        ],
        complete_time=_timestamp(session.completed_at),
        reviewed_by=f"{prefix}/residents/{session.reviewed_by}" if session.reviewed_by else "",
    )


def flag_message(flag: Flag) -> pb.Flag:
    """A flag as its protobuf message."""
    prefix = f"communities/{flag.community_id}"
    activity = f"{prefix}/activities/{flag.activity_id}"
    return pb.Flag(
        name=f"{prefix}/flags/{flag.id}",
        kind=FLAG_KINDS[flag.kind],
        reason=flag.reason,
        resident=f"{prefix}/residents/{flag.resident_id}",
        activity=activity,
        session=f"{activity}/sessions/{flag.session_id}" if flag.session_id else "",
        raise_time=_timestamp(flag.raised_at),
        resolved_by=f"{prefix}/residents/{flag.resolved_by}" if flag.resolved_by else "",
        resolve_time=_timestamp(flag.resolved_at),
    )


def rating_message(session_name: str, rating: Rating) -> pb.Rating:
    """A rating as its protobuf message."""
    return pb.Rating(
        name=f"{session_name}/ratings/{rating.rated_by}",
        rated_by=f"communities/{rating.community_id}/residents/{rating.rated_by}",
        stars=rating.stars,
        rate_time=_timestamp(rating.rated_at),
    )


def lead_message(lead: ProjectLead) -> pb.ProjectLead:
    """A project-lead application as its protobuf message."""
    prefix = f"communities/{lead.community_id}"
    return pb.ProjectLead(
        name=f"{prefix}/projectLeads/{lead.id}",
        activity=f"{prefix}/activities/{lead.activity_id}",
        resident=f"{prefix}/residents/{lead.resident_id}",
        motivation=lead.motivation,
        state=LEAD_STATES[lead.status],
        approved_by=f"{prefix}/residents/{lead.approved_by}" if lead.approved_by else "",
        runs=[_timestamp(run) for run in lead.runs],
        apply_time=_timestamp(lead.applied_at),
        approve_time=_timestamp(lead.approved_at),
        promote_time=_timestamp(lead.promoted_at),
    )


class AttendanceServicer(pb_grpc.AttendanceServiceServicer):
    """Activities, sign-in/sign-out, reviews, ratings and project leads over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], AttendanceUnitOfWork],
        residents: ResidentDirectory,
        faces: FaceIdentifier,
    ) -> None:
        self.uow_factory, self.residents, self.faces = uow_factory, residents, faces

    async def CreateActivity(
        self, request: pb.CreateActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateActivityResponse:
        """Plan an activity."""
        community = parse_name(COMMUNITY, request.parent, "parent")["community"]
        given = request.activity
        kind = _enum(KINDS, given.kind, "activity.kind")
        if not given.HasField("end_time") or (
            kind is not ActivityKind.EMERGENCY and not given.HasField("start_time")
        ):
            raise InvalidArgument("activity.start_time and activity.end_time are required")
        kiosks = [parse_name(KIOSK, name, "activity.kiosks") for name in given.kiosks]
        _same_community(community, *(k["community"] for k in kiosks))
        command = handlers.CreateActivity(
            community_id=community,
            title=given.title,
            service_type=_enum(SERVICE_TYPES, given.service_type, "activity.service_type"),
            kind=kind,
            starts_at=_time(given.start_time, given.HasField("start_time")),
            ends_at=given.end_time.ToDatetime(tzinfo=UTC),
            request_id=request.request_id,
            place=given.place,
            capacity=given.capacity,
            occurrence_count=given.occurrence_count or 1,
            kiosk_ids=tuple(k["kiosk"] for k in kiosks),
            checklist=tuple(given.checklist),
            checklist_template=request.checklist_template,
            org_units=tuple(given.org_units),
        )
        activity = await asyncio.to_thread(handlers.create_activity, command, self.uow_factory())
        return pb.CreateActivityResponse(activity=activity_message(activity))

    async def GetActivity(
        self, request: pb.GetActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetActivityResponse:
        """An activity by name."""
        ids = parse_name(ACTIVITY, request.name)
        activity = await asyncio.to_thread(
            handlers.get_activity, ids["community"], ids["activity"], self.uow_factory()
        )
        return pb.GetActivityResponse(activity=activity_message(activity))

    async def ListActivities(
        self, request: pb.ListActivitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListActivitiesResponse:
        """A page of a community's activities."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        activities, more = await asyncio.to_thread(
            handlers.list_activities, ids["community"], offset, limit, self.uow_factory()
        )
        return pb.ListActivitiesResponse(
            activities=[activity_message(a) for a in activities],
            next_page_token=encode_page_token(offset + limit) if more else "",
        )

    async def CloseActivity(
        self, request: pb.CloseActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CloseActivityResponse:
        """Close an activity to new sign-ins."""
        ids = parse_name(ACTIVITY, request.name)
        command = handlers.CloseActivity(ids["community"], ids["activity"], request.request_id)
        activity = await asyncio.to_thread(handlers.close_activity, command, self.uow_factory())
        return pb.CloseActivityResponse(activity=activity_message(activity))

    def _presence(self, request: pb.SignInRequest | pb.SignOutRequest) -> dict[str, Any]:
        activity = parse_name(ACTIVITY, request.activity, "activity")
        resident = parse_name(RESIDENT, request.resident, "resident")
        staff = parse_name(RESIDENT, request.confirmed_by, "confirmed_by")
        return {
            "community_id": _same_community(
                activity["community"], resident["community"], staff["community"]
            ),
            "activity_id": activity["activity"],
            "resident_id": resident["resident"],
            "confirmed_by": staff["resident"],
            "method": _enum(METHODS, request.method, "method"),
            "at": _time(request.time, request.HasField("time")),
            "request_id": request.request_id,
            "code": request.code,
        }

    async def SignIn(
        self, request: pb.SignInRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignInResponse:
        """Open a session confirmed by staff."""
        command = handlers.SignIn(**self._presence(request))
        session = await asyncio.to_thread(
            handlers.sign_in, command, self.uow_factory(), self.residents
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, command.method.value).inc()
        return pb.SignInResponse(session=session_message(session))

    async def SignOut(
        self, request: pb.SignOutRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignOutResponse:
        """Close a session confirmed by staff."""
        command = handlers.SignOut(**self._presence(request))
        session = await asyncio.to_thread(handlers.sign_out, command, self.uow_factory())
        return pb.SignOutResponse(session=session_message(session))

    def _face(self, request: pb.FaceSignInRequest | pb.FaceSignOutRequest) -> handlers.FacePresence:
        activity = parse_name(ACTIVITY, request.activity, "activity")
        kiosk = parse_name(KIOSK, request.kiosk, "kiosk")
        return handlers.FacePresence(
            community_id=_same_community(activity["community"], kiosk["community"]),
            activity_id=activity["activity"],
            kiosk_id=kiosk["kiosk"],
            frames=tuple(request.frames),
            challenge=_enum(CHALLENGES, request.challenge, "challenge"),
            request_id=request.request_id,
        )

    async def FaceSignIn(
        self, request: pb.FaceSignInRequest, context: grpc.aio.ServicerContext
    ) -> pb.FaceSignInResponse:
        """Open the session of whoever the kiosk recognises."""
        command = self._face(request)
        session = await asyncio.to_thread(
            handlers.face_sign_in, command, self.uow_factory(), self.faces
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, SignInMethod.FACE.value).inc()
        return pb.FaceSignInResponse(session=session_message(session))

    async def FaceSignOut(
        self, request: pb.FaceSignOutRequest, context: grpc.aio.ServicerContext
    ) -> pb.FaceSignOutResponse:
        """Close the session of whoever the kiosk recognises."""
        session = await asyncio.to_thread(
            handlers.face_sign_out, self._face(request), self.uow_factory(), self.faces
        )
        return pb.FaceSignOutResponse(session=session_message(session))

    async def GetSession(
        self, request: pb.GetSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSessionResponse:
        """A session by name."""
        ids = parse_name(SESSION, request.name)
        session = await asyncio.to_thread(
            handlers.get_session, ids["community"], ids["session"], self.uow_factory()
        )
        return pb.GetSessionResponse(session=session_message(session))

    async def ConfirmSession(
        self, request: pb.ConfirmSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmSessionResponse:
        """Confirm a session held for review."""
        ids = parse_name(SESSION, request.name)
        staff = parse_name(RESIDENT, request.confirmed_by, "confirmed_by")
        command = handlers.ConfirmSession(
            _same_community(ids["community"], staff["community"]),
            ids["session"],
            staff["resident"],
            request.request_id,
        )
        session = await asyncio.to_thread(
            handlers.confirm_session, command, self.uow_factory(), self.residents
        )
        return pb.ConfirmSessionResponse(session=session_message(session))

    async def CorrectSession(
        self, request: pb.CorrectSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CorrectSessionResponse:
        """Correct a session's counted duration."""
        ids = parse_name(SESSION, request.name)
        staff = parse_name(RESIDENT, request.corrected_by, "corrected_by")
        command = handlers.CorrectSession(
            _same_community(ids["community"], staff["community"]),
            ids["session"],
            request.duration_seconds,
            request.reason,
            staff["resident"],
            request.request_id,
        )
        session = await asyncio.to_thread(
            handlers.correct_session, command, self.uow_factory(), self.residents
        )
        return pb.CorrectSessionResponse(session=session_message(session))

    async def RecordChecklist(
        self, request: pb.RecordChecklistRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordChecklistResponse:
        """Record completed checklist steps for a session."""
        ids = parse_name(SESSION, request.name)
        command = handlers.RecordChecklist(
            ids["community"], ids["session"], tuple(request.completed_steps), request.request_id
        )
        session = await asyncio.to_thread(handlers.record_checklist, command, self.uow_factory())
        return pb.RecordChecklistResponse(session=session_message(session))

    async def ListFlags(
        self, request: pb.ListFlagsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFlagsResponse:
        """A page of a community's flags for staff review."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        flags, more = await asyncio.to_thread(
            handlers.list_flags,
            ids["community"],
            request.open_only,
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListFlagsResponse(
            flags=[flag_message(f) for f in flags],
            next_page_token=encode_page_token(offset + limit) if more else "",
        )

    async def ResolveFlag(
        self, request: pb.ResolveFlagRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveFlagResponse:
        """Mark a flag as dealt with."""
        ids = parse_name(FLAG, request.name)
        staff = parse_name(RESIDENT, request.resolved_by, "resolved_by")
        command = handlers.ResolveFlag(
            _same_community(ids["community"], staff["community"]),
            ids["flag"],
            staff["resident"],
            request.request_id,
        )
        flag = await asyncio.to_thread(
            handlers.resolve_flag, command, self.uow_factory(), self.residents
        )
        return pb.ResolveFlagResponse(flag=flag_message(flag))

    async def RateSession(
        self, request: pb.RateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RateSessionResponse:
        """Rate a completed session."""
        ids = parse_name(SESSION, request.session, "session")
        rater = parse_name(RESIDENT, request.rated_by, "rated_by")
        command = handlers.RateSession(
            _same_community(ids["community"], rater["community"]),
            ids["session"],
            rater["resident"],
            request.stars,
            request.request_id,
        )
        rating = await asyncio.to_thread(
            handlers.rate_session, command, self.uow_factory(), self.residents
        )
        return pb.RateSessionResponse(rating=rating_message(request.session, rating))

    async def ApplyProjectLead(
        self, request: pb.ApplyProjectLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplyProjectLeadResponse:
        """Apply to lead a project."""
        activity = parse_name(ACTIVITY, request.activity, "activity")
        resident = parse_name(RESIDENT, request.resident, "resident")
        command = handlers.ApplyProjectLead(
            _same_community(activity["community"], resident["community"]),
            activity["activity"],
            resident["resident"],
            request.motivation,
            request.request_id,
        )
        lead = await asyncio.to_thread(
            handlers.apply_project_lead, command, self.uow_factory(), self.residents
        )
        return pb.ApplyProjectLeadResponse(project_lead=lead_message(lead))

    async def ApproveProjectLead(
        self, request: pb.ApproveProjectLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApproveProjectLeadResponse:
        """Approve an application to lead."""
        ids = parse_name(LEAD, request.name)
        staff = parse_name(RESIDENT, request.approved_by, "approved_by")
        command = handlers.ApproveProjectLead(
            _same_community(ids["community"], staff["community"]),
            ids["lead"],
            staff["resident"],
            request.request_id,
        )
        lead = await asyncio.to_thread(
            handlers.approve_project_lead, command, self.uow_factory(), self.residents
        )
        return pb.ApproveProjectLeadResponse(project_lead=lead_message(lead))

    async def GetProjectLead(
        self, request: pb.GetProjectLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProjectLeadResponse:
        """An application to lead by name."""
        ids = parse_name(LEAD, request.name)
        lead = await asyncio.to_thread(
            handlers.get_project_lead, ids["community"], ids["lead"], self.uow_factory()
        )
        return pb.GetProjectLeadResponse(project_lead=lead_message(lead))
