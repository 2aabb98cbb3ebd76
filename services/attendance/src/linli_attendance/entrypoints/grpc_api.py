"""The AttendanceService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.domain.activities import SignInMethod
from linli_attendance.domain.limits import DEFAULT_LIMITS, LimitBook
from linli_attendance.domain.names import ACTIVITY, COMMUNITY, FLAG, LEAD, RESIDENT, SESSION
from linli_attendance.entrypoints import requests
from linli_attendance.entrypoints.messages import (
    activity_message,
    flag_message,
    lead_message,
    rating_message,
    session_message,
)
from linli_attendance.service_layer import (
    activities,
    commands,
    leads,
    ratings,
    reviews,
    sessions,
)
from linli_attendance.service_layer.ports import (
    AttendanceUnitOfWork,
    FaceIdentifier,
    ResidentDirectory,
)
from linli_kit import metrics
from linli_kit.domain import Clock, utc_now
from linli_kit.names import decode_page_token, next_page_token, page_size

Context: TypeAlias = grpc.aio.ServicerContext


class AttendanceServicer(pb_grpc.AttendanceServiceServicer):
    """Activities, sign-in/sign-out, reviews, ratings and project leads over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], AttendanceUnitOfWork],
        residents: ResidentDirectory,
        faces: FaceIdentifier,
        limits: LimitBook = DEFAULT_LIMITS,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.residents, self.faces = uow_factory, residents, faces
        self.limits, self.clock = limits, clock

    async def _run(self, use_case: Callable[..., Any], cmd: Any, *deps: Any, **kw: Any) -> Any:
        """Run a use case in a worker thread with a fresh unit of work."""
        return await asyncio.to_thread(use_case, cmd, self.uow_factory(), *deps, **kw)

    async def CreateActivity(
        self, request: pb.CreateActivityRequest, context: Context
    ) -> pb.CreateActivityResponse:
        """Plan an activity."""
        command = requests.create_activity(request)
        activity = await self._run(activities.create_activity, command, clock=self.clock)
        return pb.CreateActivityResponse(activity=activity_message(activity))

    async def GetActivity(
        self, request: pb.GetActivityRequest, context: Context
    ) -> pb.GetActivityResponse:
        """An activity by name."""
        ids = ACTIVITY.parse(request.name)
        activity = await asyncio.to_thread(
            activities.get_activity, ids["community"], ids["activity"], self.uow_factory()
        )
        return pb.GetActivityResponse(activity=activity_message(activity))

    async def ListActivities(
        self, request: pb.ListActivitiesRequest, context: Context
    ) -> pb.ListActivitiesResponse:
        """A page of a community's activities."""
        ids = COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            activities.list_activities, ids["community"], offset, limit, self.uow_factory()
        )
        return pb.ListActivitiesResponse(
            activities=[activity_message(a) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CloseActivity(
        self, request: pb.CloseActivityRequest, context: Context
    ) -> pb.CloseActivityResponse:
        """Close an activity to new sign-ins."""
        ids = ACTIVITY.parse(request.name)
        command = commands.CloseActivity(ids["community"], ids["activity"], request.request_id)
        activity = await self._run(activities.close_activity, command, clock=self.clock)
        return pb.CloseActivityResponse(activity=activity_message(activity))

    async def SignIn(self, request: pb.SignInRequest, context: Context) -> pb.SignInResponse:
        """Open a session confirmed by staff."""
        command = commands.SignIn(**requests.presence(request))
        session = await self._run(
            sessions.sign_in, command, self.residents, limits=self.limits, clock=self.clock
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, command.method.value).inc()
        return pb.SignInResponse(session=session_message(session))

    async def SignOut(self, request: pb.SignOutRequest, context: Context) -> pb.SignOutResponse:
        """Close a session confirmed by staff."""
        command = commands.SignOut(**requests.presence(request))
        session = await self._run(sessions.sign_out, command, limits=self.limits, clock=self.clock)
        return pb.SignOutResponse(session=session_message(session))

    async def FaceSignIn(
        self, request: pb.FaceSignInRequest, context: Context
    ) -> pb.FaceSignInResponse:
        """Open the session of whoever the kiosk recognises."""
        command = requests.face_presence(request)
        session = await self._run(
            sessions.face_sign_in, command, self.faces, limits=self.limits, clock=self.clock
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, SignInMethod.FACE.value).inc()
        return pb.FaceSignInResponse(session=session_message(session))

    async def FaceSignOut(
        self, request: pb.FaceSignOutRequest, context: Context
    ) -> pb.FaceSignOutResponse:
        """Close the session of whoever the kiosk recognises."""
        command = requests.face_presence(request)
        session = await self._run(
            sessions.face_sign_out, command, self.faces, limits=self.limits, clock=self.clock
        )
        return pb.FaceSignOutResponse(session=session_message(session))

    async def EnterPaperSession(
        self, request: pb.EnterPaperSessionRequest, context: Context
    ) -> pb.EnterPaperSessionResponse:
        """Enter a session from a paper sign-in sheet in one call."""
        command = requests.enter_paper_session(request)
        session = await self._run(
            sessions.enter_paper_session,
            command,
            self.residents,
            limits=self.limits,
            clock=self.clock,
        )
        metrics.ATTENDANCE_SIGN_INS.labels(
            command.community_id, SignInMethod.PAPER_SHEET.value
        ).inc()
        return pb.EnterPaperSessionResponse(session=session_message(session))

    async def RecordServed(
        self, request: pb.RecordServedRequest, context: Context
    ) -> pb.RecordServedResponse:
        """Record the residents a session served."""
        ids = SESSION.parse(request.session, "session")
        staff = RESIDENT.parse(request.recorded_by, "recorded_by")
        served = [RESIDENT.parse(name, "residents") for name in request.residents]
        command = commands.RecordServed(
            requests.same_community(
                ids["community"], staff["community"], *(r["community"] for r in served)
            ),
            ids["session"],
            tuple(r["resident"] for r in served),
            staff["resident"],
            request.request_id,
        )
        session = await self._run(sessions.record_served, command, self.residents, clock=self.clock)
        return pb.RecordServedResponse(session=session_message(session))

    async def GetSession(
        self, request: pb.GetSessionRequest, context: Context
    ) -> pb.GetSessionResponse:
        """A session by name."""
        ids = SESSION.parse(request.name)
        session = await asyncio.to_thread(
            sessions.get_session, ids["community"], ids["session"], self.uow_factory()
        )
        return pb.GetSessionResponse(session=session_message(session))

    async def ConfirmSession(
        self, request: pb.ConfirmSessionRequest, context: Context
    ) -> pb.ConfirmSessionResponse:
        """Confirm a session held for review."""
        ids = SESSION.parse(request.name)
        staff = RESIDENT.parse(request.confirmed_by, "confirmed_by")
        command = commands.ConfirmSession(
            requests.same_community(ids["community"], staff["community"]),
            ids["session"],
            staff["resident"],
            request.request_id,
        )
        session = await self._run(
            reviews.confirm_session, command, self.residents, clock=self.clock
        )
        return pb.ConfirmSessionResponse(session=session_message(session))

    async def CorrectSession(
        self, request: pb.CorrectSessionRequest, context: Context
    ) -> pb.CorrectSessionResponse:
        """Correct a session's counted duration."""
        ids = SESSION.parse(request.name)
        staff = RESIDENT.parse(request.corrected_by, "corrected_by")
        command = commands.CorrectSession(
            requests.same_community(ids["community"], staff["community"]),
            ids["session"],
            request.duration_seconds,
            request.reason,
            staff["resident"],
            request.request_id,
        )
        session = await self._run(
            reviews.correct_session, command, self.residents, clock=self.clock
        )
        return pb.CorrectSessionResponse(session=session_message(session))

    async def RecordChecklist(
        self, request: pb.RecordChecklistRequest, context: Context
    ) -> pb.RecordChecklistResponse:
        """Record completed checklist steps for a session."""
        ids = SESSION.parse(request.name)
        command = commands.RecordChecklist(
            ids["community"], ids["session"], tuple(request.completed_steps), request.request_id
        )
        session = await self._run(sessions.record_checklist, command)
        return pb.RecordChecklistResponse(session=session_message(session))

    async def ListFlags(
        self, request: pb.ListFlagsRequest, context: Context
    ) -> pb.ListFlagsResponse:
        """A page of a community's flags for staff review."""
        ids = COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        flags, more = await asyncio.to_thread(
            reviews.list_flags,
            ids["community"],
            request.open_only,
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListFlagsResponse(
            flags=[flag_message(f) for f in flags],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ResolveFlag(
        self, request: pb.ResolveFlagRequest, context: Context
    ) -> pb.ResolveFlagResponse:
        """Mark a flag as dealt with."""
        ids = FLAG.parse(request.name)
        staff = RESIDENT.parse(request.resolved_by, "resolved_by")
        command = commands.ResolveFlag(
            requests.same_community(ids["community"], staff["community"]),
            ids["flag"],
            staff["resident"],
            request.request_id,
        )
        flag = await self._run(reviews.resolve_flag, command, self.residents, clock=self.clock)
        return pb.ResolveFlagResponse(flag=flag_message(flag))

    async def RateSession(
        self, request: pb.RateSessionRequest, context: Context
    ) -> pb.RateSessionResponse:
        """Rate a completed session."""
        ids = SESSION.parse(request.session, "session")
        rater = RESIDENT.parse(request.rated_by, "rated_by")
        command = commands.RateSession(
            requests.same_community(ids["community"], rater["community"]),
            ids["session"],
            rater["resident"],
            request.stars,
            request.request_id,
        )
        rating = await self._run(
            ratings.rate_session, command, self.residents, limits=self.limits, clock=self.clock
        )
        return pb.RateSessionResponse(rating=rating_message(ids, rating))

    async def ApplyProjectLead(
        self, request: pb.ApplyProjectLeadRequest, context: Context
    ) -> pb.ApplyProjectLeadResponse:
        """Apply to lead a project."""
        activity = ACTIVITY.parse(request.activity, "activity")
        resident = RESIDENT.parse(request.resident, "resident")
        command = commands.ApplyProjectLead(
            requests.same_community(activity["community"], resident["community"]),
            activity["activity"],
            resident["resident"],
            request.motivation,
            request.request_id,
        )
        lead = await self._run(leads.apply_project_lead, command, self.residents, clock=self.clock)
        return pb.ApplyProjectLeadResponse(project_lead=lead_message(lead))

    async def ApproveProjectLead(
        self, request: pb.ApproveProjectLeadRequest, context: Context
    ) -> pb.ApproveProjectLeadResponse:
        """Approve an application to lead."""
        ids = LEAD.parse(request.name)
        staff = RESIDENT.parse(request.approved_by, "approved_by")
        command = commands.ApproveProjectLead(
            requests.same_community(ids["community"], staff["community"]),
            ids["lead"],
            staff["resident"],
            request.request_id,
        )
        lead = await self._run(
            leads.approve_project_lead, command, self.residents, clock=self.clock
        )
        return pb.ApproveProjectLeadResponse(project_lead=lead_message(lead))

    async def GetProjectLead(
        self, request: pb.GetProjectLeadRequest, context: Context
    ) -> pb.GetProjectLeadResponse:
        """An application to lead by name."""
        ids = LEAD.parse(request.name)
        lead = await asyncio.to_thread(
            leads.get_project_lead, ids["community"], ids["lead"], self.uow_factory()
        )
        return pb.GetProjectLeadResponse(project_lead=lead_message(lead))
