"""The CouncilService servicer: map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the use cases apply the council's rules and
`linli_points.domain.access` to the caller (`current_principal()`). A vote, a decision and an
adoption are always the caller's own: no request field names who votes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias

import grpc
from linli.points.v1 import council_service_pb2 as pb
from linli.points.v1 import council_service_pb2_grpc as pb_grpc

from linli_kit import metrics
from linli_kit.auth import Policy, persons
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import Role, current_principal
from linli_kit.ratelimits import Limits
from linli_kit.servicers import UseCaseServicer
from linli_points.domain.rules import RuleCatalog
from linli_points.entrypoints import council_messages as messages
from linli_points.names import COMMUNITY, COUNCIL_MEETING, COUNCIL_MEMBER
from linli_points.service_layer import council, queries
from linli_points.service_layer.council import Rules
from linli_points.service_layer.ports import Households, PointsUnitOfWork

Context: TypeAlias = grpc.aio.ServicerContext
STAFF = persons(Role.SOCIAL_WORKER)
POLICY: Policy = {
    "SeatMember": STAFF,
    "EndMembership": STAFF,
    "ListMembers": persons(),
    "ScheduleMeeting": STAFF,
    "GetMeeting": persons(),
    "ListMeetings": persons(),
    "RecordAttendance": STAFF,
    # Members act as themselves: whether they sit on the council is the domain's question.
    "CastVote": persons(),
    "DecideAppealAtMeeting": persons(),
    "AdoptAudit": persons(),
    "CloseMeeting": STAFF,
    "GetPublicRecord": persons(),
}
LIMITS: Limits = {}


def _community(name: str, field: str = "parent") -> str:
    return COMMUNITY.parse(name, field)["community"]


def _meeting(name: str, field: str = "name") -> tuple[str, str]:
    ids = COUNCIL_MEETING.parse(name, field)
    return ids["community"], ids["meeting"]


class CouncilServicer(UseCaseServicer, pb_grpc.CouncilServiceServicer):
    """The supervision council's seats, meetings, decisions, audits and public record."""

    def __init__(
        self,
        uow_factory: Callable[[], PointsUnitOfWork],
        catalog: RuleCatalog,
        rules: Rules,
        households: Households,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.catalog, self.rules = uow_factory, catalog, rules
        self.households, self.clock = households, clock

    async def _meeting_message(self, community_id: str, meeting: Any) -> pb.Meeting:
        members = await asyncio.to_thread(
            council.seats, current_principal(), community_id, self.uow_factory()
        )
        return messages.meeting_message(meeting, members, self.rules(community_id))

    async def SeatMember(
        self, request: pb.SeatMemberRequest, context: Context
    ) -> pb.SeatMemberResponse:
        """Seat a resident identity registered on the council for a term."""
        community_id, given = _community(request.parent), request.member
        command = council.SeatMember(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=community_id,
            resident_id=messages.resident_in(community_id, given.resident, "member.resident"),
            seat=messages.seat_of(given.seat),
            organisation=given.organisation,
            term_start=messages.date_of(given.term_start_date, "member.term_start_date"),
            term_end=messages.date_of(given.term_end_date, "member.term_end_date"),
        )
        member = await self._run(council.seat, command, self.clock)
        return pb.SeatMemberResponse(member=messages.member_message(member))

    async def EndMembership(
        self, request: pb.EndMembershipRequest, context: Context
    ) -> pb.EndMembershipResponse:
        """End a member's term early."""
        ids = COUNCIL_MEMBER.parse(request.name)
        command = council.EndMembership(
            current_principal(), request.request_id, ids["community"], ids["member"], request.reason
        )
        member = await self._run(council.end_membership, command, self.clock)
        return pb.EndMembershipResponse(member=messages.member_message(member))

    async def ListMembers(
        self, request: pb.ListMembersRequest, context: Context
    ) -> pb.ListMembersResponse:
        """A page of the council's seats, current and past."""
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            council.list_members,
            current_principal(),
            _community(request.parent),
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListMembersResponse(
            members=[messages.member_message(m) for m in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ScheduleMeeting(
        self, request: pb.ScheduleMeetingRequest, context: Context
    ) -> pb.ScheduleMeetingResponse:
        """Schedule a meeting with its agenda."""
        community_id, given = _community(request.parent), request.meeting
        if not given.HasField("schedule_time"):
            raise InvalidArgument("meeting.schedule_time is required")
        appeal_ids = tuple(
            messages.appeal_in(community_id, item.appeal, "meeting.agenda.appeal")
            for item in given.agenda
            if item.WhichOneof("item") == "appeal"
        )
        audits = tuple(
            (item.audit.year, item.audit.quarter)
            for item in given.agenda
            if item.WhichOneof("item") == "audit"
        )
        command = council.ScheduleMeeting(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=community_id,
            title=given.title,
            scheduled_for=given.schedule_time.ToDatetime(tzinfo=UTC),
            appeal_ids=appeal_ids,
            audits=audits,
        )
        meeting = await self._run(council.schedule, command, self.clock)
        return pb.ScheduleMeetingResponse(
            meeting=await self._meeting_message(community_id, meeting)
        )

    async def GetMeeting(
        self, request: pb.GetMeetingRequest, context: Context
    ) -> pb.GetMeetingResponse:
        """A meeting with its attendance, quorum, decisions and minutes."""
        community_id, meeting_id = _meeting(request.name)
        meeting, members = await asyncio.to_thread(
            council.get_meeting, current_principal(), community_id, meeting_id, self.uow_factory()
        )
        rule = self.rules(community_id)
        return pb.GetMeetingResponse(meeting=messages.meeting_message(meeting, members, rule))

    async def ListMeetings(
        self, request: pb.ListMeetingsRequest, context: Context
    ) -> pb.ListMeetingsResponse:
        """The community's meetings, newest first."""
        community_id = _community(request.parent)
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, members, more = await asyncio.to_thread(
            council.list_meetings,
            current_principal(),
            community_id,
            offset,
            limit,
            self.uow_factory(),
        )
        rule = self.rules(community_id)
        return pb.ListMeetingsResponse(
            meetings=[messages.meeting_message(m, members, rule) for m in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def RecordAttendance(
        self, request: pb.RecordAttendanceRequest, context: Context
    ) -> pb.RecordAttendanceResponse:
        """Record who attended and hold the meeting."""
        community_id, meeting_id = _meeting(request.name)
        attendees = tuple(
            messages.resident_in(community_id, name, "attendees") for name in request.attendees
        )
        command = council.RecordAttendance(
            current_principal(), request.request_id, community_id, meeting_id, attendees
        )
        meeting = await self._run(council.record_attendance, command, self.clock)
        return pb.RecordAttendanceResponse(
            meeting=await self._meeting_message(community_id, meeting)
        )

    async def CastVote(self, request: pb.CastVoteRequest, context: Context) -> pb.CastVoteResponse:
        """The caller's vote on an appeal on the agenda."""
        community_id, meeting_id = _meeting(request.meeting, "meeting")
        command = council.CastVote(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=community_id,
            meeting_id=meeting_id,
            appeal_id=messages.appeal_in(community_id, request.appeal, "appeal"),
            choice=messages.choice_of(request.choice),
            compensation=request.compensation_centipoints,
        )
        vote = await self._run(
            council.cast_vote, command, self.households, self.catalog, self.clock
        )
        return pb.CastVoteResponse(vote=messages.vote_message(community_id, vote))

    async def DecideAppealAtMeeting(
        self, request: pb.DecideAppealAtMeetingRequest, context: Context
    ) -> pb.DecideAppealAtMeetingResponse:
        """Record the council's decision on an appeal from the votes and apply it."""
        community_id, meeting_id = _meeting(request.meeting, "meeting")
        command = council.DecideAtMeeting(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=community_id,
            meeting_id=meeting_id,
            appeal_id=messages.appeal_in(community_id, request.appeal, "appeal"),
            reason=request.reason,
        )
        decision = await self._run(
            council.decide, command, self.households, self.catalog, self.rules, self.clock
        )
        return pb.DecideAppealAtMeetingResponse(
            decision=messages.decision_message(community_id, decision)
        )

    async def AdoptAudit(
        self, request: pb.AdoptAuditRequest, context: Context
    ) -> pb.AdoptAuditResponse:
        """Adopt a quarter's audit report with its integrity result."""
        community_id, meeting_id = _meeting(request.meeting, "meeting")
        command = council.AdoptAudit(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=community_id,
            meeting_id=meeting_id,
            year=request.quarter.year,
            quarter=request.quarter.quarter,
        )
        adoption = await self._run(council.adopt_audit, command, self.rules, self.clock)
        return pb.AdoptAuditResponse(adoption=messages.adoption_message(community_id, adoption))

    async def CloseMeeting(
        self, request: pb.CloseMeetingRequest, context: Context
    ) -> pb.CloseMeetingResponse:
        """Record the minutes and close the meeting."""
        community_id, meeting_id = _meeting(request.name)
        command = council.CloseMeeting(
            current_principal(), request.request_id, community_id, meeting_id, request.minutes
        )
        meeting = await self._run(council.close_meeting, command, self.clock)
        return pb.CloseMeetingResponse(meeting=await self._meeting_message(community_id, meeting))

    async def GetPublicRecord(
        self, request: pb.GetPublicRecordRequest, context: Context
    ) -> pb.GetPublicRecordResponse:
        """A year's appeals by quarter and adopted audits, without names."""
        community_id = _community(request.parent)
        year = request.year or queries.current_year(self.clock)
        found = await asyncio.to_thread(
            council.get_public_record,
            current_principal(),
            community_id,
            year,
            self.uow_factory(),
            self.rules,
            self.clock,
        )
        return pb.GetPublicRecordResponse(
            community=request.parent,
            year=year,
            quarters=[messages.quarter_message(r) for r in found],
        )


def count_overdue_audits(
    uow_factory: Callable[[], PointsUnitOfWork], rules: Rules, now: datetime
) -> None:
    """Set linli_council_audits_overdue for every community with a ledger."""
    for community_id, overdue in council.overdue_audits(uow_factory(), rules, now).items():
        metrics.COUNCIL_AUDITS_OVERDUE.labels(community_id).set(overdue)
