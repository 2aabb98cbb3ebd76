"""The AttendanceService servicer: map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the rules that need the record itself are
in `domain.access`, applied by the use cases to the caller passed as the command's actor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeAlias

import grpc
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.domain.activities import SignInMethod
from linli_attendance.domain.limits import DEFAULT_LIMITS, LimitBook
from linli_attendance.domain.names import ACTIVITY, COMMUNITY, FLAG, LEAD, RESIDENT, SESSION
from linli_attendance.domain.reports import overall
from linli_attendance.entrypoints import requests
from linli_attendance.entrypoints.messages import (
    activity_message,
    flag_message,
    lead_message,
    rated_session_message,
    rating_message,
    rating_summary_message,
    roster_entry_message,
    served_hours_message,
    session_message,
    time,
)
from linli_attendance.service_layer import (
    activities,
    commands,
    leads,
    ratings,
    reports,
    reviews,
    roster,
    sessions,
)
from linli_attendance.service_layer.ports import (
    AttendanceUnitOfWork,
    FaceIdentifier,
    ResidentDirectory,
)
from linli_kit import auth, metrics
from linli_kit.domain import Clock, utc_now
from linli_kit.names import decode_page_token, next_page_token, page_size, same_community
from linli_kit.principals import STAFF_ROLES, Role, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_kit.servicers import UseCaseServicer

Context: TypeAlias = grpc.aio.ServicerContext

STAFF = auth.persons(*STAFF_ROLES)
# Who may call each RPC; the use cases then check the record (its community, whose it is).
POLICY: auth.Policy = {
    # Training activities are planned by the training service for its course sessions.
    "CreateActivity": STAFF + auth.services("training"),
    "GetActivity": auth.persons(),
    "ListActivities": auth.persons(),
    "CloseActivity": STAFF,
    # A resident with the activity's code for themself, staff for anyone.
    "SignIn": auth.persons(),
    "SignOut": auth.persons(),
    # The kiosk's operator is signed in on it.
    "FaceSignIn": auth.persons(*STAFF_ROLES, Role.CORE_VOLUNTEER),
    "FaceSignOut": auth.persons(*STAFF_ROLES, Role.CORE_VOLUNTEER),
    # Its volunteer or staff.
    "GetSession": auth.persons(),
    "ConfirmSession": STAFF,
    "CorrectSession": STAFF,
    "EnterPaperSession": STAFF,
    "RecordServed": STAFF,
    # Staff or the activity's approved lead.
    "RecordChecklist": auth.persons(),
    # Staff; a resident their own prompts to enrol their face again.
    "ListFlags": auth.persons(),
    "ResolveFlag": STAFF,
    # A resident the session served, for themself.
    "RateSession": auth.persons(),
    "ApplyProjectLead": auth.persons(),
    "ApproveProjectLead": STAFF,
    # Its applicant or staff.
    "GetProjectLead": auth.persons(),
    # Staff for anyone, a resident for themself; training for its course sessions' rosters.
    "AddRosterEntry": auth.persons() + auth.services("training"),
    "RemoveRosterEntry": auth.persons() + auth.services("training"),
    # The whole roster for staff, core volunteers and training; a resident their own entry.
    "ListRosterEntries": auth.persons() + auth.services("training"),
    # Staff's reports: aggregates of a year, and ratings naming rater and volunteer.
    "ReportServedHours": STAFF,
    "ListRatings": STAFF,
}
# Calls per caller. A volunteer signs in and out a few times a day; a staff member at the door
# signs in a queue of volunteers at about one a second. A kiosk's bursts are charged to its
# operator: a person needs 3-5 s in front of it (frames and liveness), so 30 a minute is a
# kiosk at full speed with retries, while each burst asks identity's 1:N face search.
LIMITS: Limits = {
    "SignIn": per_minute(60, burst=30),
    "SignOut": per_minute(60, burst=30),
    "FaceSignIn": per_minute(30, burst=10),
    "FaceSignOut": per_minute(30, burst=10),
}


class AttendanceServicer(UseCaseServicer, pb_grpc.AttendanceServiceServicer):
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

    async def CreateActivity(
        self, request: pb.CreateActivityRequest, context: Context
    ) -> pb.CreateActivityResponse:
        """Plan an activity."""
        command = requests.create_activity(request, current_principal())
        activity = await self._run(activities.create_activity, command, clock=self.clock)
        return pb.CreateActivityResponse(activity=activity_message(activity))

    async def GetActivity(
        self, request: pb.GetActivityRequest, context: Context
    ) -> pb.GetActivityResponse:
        """An activity by name."""
        ids = ACTIVITY.parse(request.name)
        activity = await asyncio.to_thread(
            activities.get_activity,
            current_principal(),
            ids["community"],
            ids["activity"],
            self.uow_factory(),
        )
        return pb.GetActivityResponse(activity=activity_message(activity))

    async def ListActivities(
        self, request: pb.ListActivitiesRequest, context: Context
    ) -> pb.ListActivitiesResponse:
        """A page of a community's activities."""
        ids = COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            activities.list_activities,
            current_principal(),
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
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
        command = commands.CloseActivity(
            ids["community"], ids["activity"], request.request_id, actor=current_principal()
        )
        activity = await self._run(activities.close_activity, command, clock=self.clock)
        return pb.CloseActivityResponse(activity=activity_message(activity))

    async def SignIn(self, request: pb.SignInRequest, context: Context) -> pb.SignInResponse:
        """Open a session by the resident's own code, or by staff."""
        command = commands.SignIn(**requests.presence(request, current_principal()))
        session = await self._run(
            sessions.sign_in, command, self.residents, limits=self.limits, clock=self.clock
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, command.method.value).inc()
        return pb.SignInResponse(session=session_message(session))

    async def SignOut(self, request: pb.SignOutRequest, context: Context) -> pb.SignOutResponse:
        """Close a session by the resident's own code, or by staff."""
        command = commands.SignOut(**requests.presence(request, current_principal()))
        session = await self._run(
            sessions.sign_out, command, self.residents, limits=self.limits, clock=self.clock
        )
        return pb.SignOutResponse(session=session_message(session))

    async def FaceSignIn(
        self, request: pb.FaceSignInRequest, context: Context
    ) -> pb.FaceSignInResponse:
        """Open the session of whoever the kiosk recognises."""
        command = requests.face_presence(request, current_principal())
        session = await self._run(
            sessions.face_sign_in, command, self.faces, limits=self.limits, clock=self.clock
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, SignInMethod.FACE.value).inc()
        return pb.FaceSignInResponse(session=session_message(session))

    async def FaceSignOut(
        self, request: pb.FaceSignOutRequest, context: Context
    ) -> pb.FaceSignOutResponse:
        """Close the session of whoever the kiosk recognises."""
        command = requests.face_presence(request, current_principal())
        session = await self._run(
            sessions.face_sign_out, command, self.faces, limits=self.limits, clock=self.clock
        )
        return pb.FaceSignOutResponse(session=session_message(session))

    async def EnterPaperSession(
        self, request: pb.EnterPaperSessionRequest, context: Context
    ) -> pb.EnterPaperSessionResponse:
        """Enter a session from a paper sign-in sheet in one call."""
        command = requests.enter_paper_session(request, current_principal())
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
        served = [RESIDENT.parse(name, "residents") for name in request.residents]
        command = commands.RecordServed(
            same_community(ids["community"], *(r["community"] for r in served)),
            ids["session"],
            tuple(r["resident"] for r in served),
            request.request_id,
            actor=current_principal(),
        )
        session = await self._run(sessions.record_served, command, self.residents, clock=self.clock)
        return pb.RecordServedResponse(session=session_message(session))

    async def GetSession(
        self, request: pb.GetSessionRequest, context: Context
    ) -> pb.GetSessionResponse:
        """A session by name."""
        ids = SESSION.parse(request.name)
        session = await asyncio.to_thread(
            sessions.get_session,
            current_principal(),
            ids["community"],
            ids["session"],
            self.uow_factory(),
        )
        return pb.GetSessionResponse(session=session_message(session))

    async def ConfirmSession(
        self, request: pb.ConfirmSessionRequest, context: Context
    ) -> pb.ConfirmSessionResponse:
        """Confirm a session held for review."""
        ids = SESSION.parse(request.name)
        command = commands.ConfirmSession(
            ids["community"], ids["session"], request.request_id, actor=current_principal()
        )
        session = await self._run(reviews.confirm_session, command, clock=self.clock)
        return pb.ConfirmSessionResponse(session=session_message(session))

    async def CorrectSession(
        self, request: pb.CorrectSessionRequest, context: Context
    ) -> pb.CorrectSessionResponse:
        """Correct a session's counted duration."""
        ids = SESSION.parse(request.name)
        command = commands.CorrectSession(
            ids["community"],
            ids["session"],
            request.duration_seconds,
            request.reason,
            request.request_id,
            actor=current_principal(),
        )
        session = await self._run(reviews.correct_session, command, clock=self.clock)
        return pb.CorrectSessionResponse(session=session_message(session))

    async def RecordChecklist(
        self, request: pb.RecordChecklistRequest, context: Context
    ) -> pb.RecordChecklistResponse:
        """Record completed checklist steps for a session."""
        ids = SESSION.parse(request.name)
        command = commands.RecordChecklist(
            ids["community"],
            ids["session"],
            tuple(request.completed_steps),
            request.request_id,
            actor=current_principal(),
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
            current_principal(),
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
        command = commands.ResolveFlag(
            ids["community"], ids["flag"], request.request_id, actor=current_principal()
        )
        flag = await self._run(reviews.resolve_flag, command, clock=self.clock)
        return pb.ResolveFlagResponse(flag=flag_message(flag))

    async def RateSession(
        self, request: pb.RateSessionRequest, context: Context
    ) -> pb.RateSessionResponse:
        """Rate a completed session."""
        ids = SESSION.parse(request.session, "session")
        command = commands.RateSession(
            ids["community"],
            ids["session"],
            request.stars,
            request.request_id,
            actor=current_principal(),
        )
        rating = await self._run(
            ratings.rate_session, command, limits=self.limits, clock=self.clock
        )
        return pb.RateSessionResponse(rating=rating_message(ids, rating))

    async def ApplyProjectLead(
        self, request: pb.ApplyProjectLeadRequest, context: Context
    ) -> pb.ApplyProjectLeadResponse:
        """Apply to lead a project."""
        activity = ACTIVITY.parse(request.activity, "activity")
        command = commands.ApplyProjectLead(
            activity["community"],
            activity["activity"],
            request.motivation,
            request.request_id,
            actor=current_principal(),
        )
        lead = await self._run(leads.apply_project_lead, command, clock=self.clock)
        return pb.ApplyProjectLeadResponse(project_lead=lead_message(lead))

    async def ApproveProjectLead(
        self, request: pb.ApproveProjectLeadRequest, context: Context
    ) -> pb.ApproveProjectLeadResponse:
        """Approve an application to lead."""
        ids = LEAD.parse(request.name)
        command = commands.ApproveProjectLead(
            ids["community"], ids["lead"], request.request_id, actor=current_principal()
        )
        lead = await self._run(leads.approve_project_lead, command, clock=self.clock)
        return pb.ApproveProjectLeadResponse(project_lead=lead_message(lead))

    async def GetProjectLead(
        self, request: pb.GetProjectLeadRequest, context: Context
    ) -> pb.GetProjectLeadResponse:
        """An application to lead by name."""
        ids = LEAD.parse(request.name)
        lead = await asyncio.to_thread(
            leads.get_project_lead,
            current_principal(),
            ids["community"],
            ids["lead"],
            self.uow_factory(),
        )
        return pb.GetProjectLeadResponse(project_lead=lead_message(lead))

    async def AddRosterEntry(
        self, request: pb.AddRosterEntryRequest, context: Context
    ) -> pb.AddRosterEntryResponse:
        """Put a resident on an occurrence's roster."""
        command = requests.add_roster_entry(request, current_principal())
        entry = await self._run(roster.add_roster_entry, command, self.residents, clock=self.clock)
        return pb.AddRosterEntryResponse(entry=roster_entry_message(entry))

    async def RemoveRosterEntry(
        self, request: pb.RemoveRosterEntryRequest, context: Context
    ) -> pb.RemoveRosterEntryResponse:
        """Take a resident off an occurrence's roster."""
        command = requests.remove_roster_entry(request, current_principal())
        entry = await self._run(roster.remove_roster_entry, command, clock=self.clock)
        return pb.RemoveRosterEntryResponse(entry=roster_entry_message(entry))

    async def ListRosterEntries(
        self, request: pb.ListRosterEntriesRequest, context: Context
    ) -> pb.ListRosterEntriesResponse:
        """A page of an occurrence's roster."""
        ids = ACTIVITY.parse(request.activity, "activity")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        entries, more = await asyncio.to_thread(
            roster.list_roster_entries,
            current_principal(),
            ids["community"],
            ids["activity"],
            time(request.occurrence_start_time, request.HasField("occurrence_start_time")),
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListRosterEntriesResponse(
            entries=[roster_entry_message(e) for e in entries],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ReportServedHours(
        self, request: pb.ReportServedHoursRequest, context: Context
    ) -> pb.ReportServedHoursResponse:
        """Served and held hours per month and service type of one year."""
        ids = COMMUNITY.parse(request.parent, "parent")
        year, found = await asyncio.to_thread(
            reports.report_served_hours,
            current_principal(),
            ids["community"],
            request.year,
            self.uow_factory(),
            self.clock,
        )
        return pb.ReportServedHoursResponse(
            year=year, hours=[served_hours_message(h) for h in found]
        )

    async def ListRatings(
        self, request: pb.ListRatingsRequest, context: Context
    ) -> pb.ListRatingsResponse:
        """A page of one year's ratings with their summary."""
        ids = COMMUNITY.parse(request.parent, "parent")
        activity = ACTIVITY.parse(request.activity, "activity") if request.activity else None
        if activity is not None:
            same_community(ids["community"], activity["community"])
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more, summaries = await asyncio.to_thread(
            reports.list_ratings,
            current_principal(),
            ids["community"],
            None if activity is None else activity["activity"],
            request.year,
            offset,
            limit,
            self.uow_factory(),
            self.clock,
        )
        return pb.ListRatingsResponse(
            ratings=[rated_session_message(line) for line in found],
            next_page_token=next_page_token(offset, limit, more),
            by_service_type=[rating_summary_message(s) for s in summaries],
            overall=rating_summary_message(overall(summaries)),
        )
