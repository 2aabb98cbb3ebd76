"""What the committee pages show and do: appeals, the supervision council's meetings, seats,
votes and decisions, the quarterly audit and the public record, with the person's own token.

Points decides who may: committee members and staff read appeals; a member present at a held
meeting votes and records decisions; social workers are the council's secretariat.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from linli.points.v1 import council_service_pb2 as cnl
from linli.points.v1 import council_service_pb2_grpc as cnl_grpc
from linli.points.v1 import points_service_pb2 as pts
from pydantic import BaseModel

from linli_gateway.adapters.services import Services
from linli_gateway.entrypoints.sessions import Person
from linli_gateway.entrypoints.views.common import enum_name, every_page, when
from linli_gateway.entrypoints.views.staff import stamp

SEATS = ("residents_committee", "resident_representative", "third_party")
WAITING_SHOWN = 500  # appeals waiting for a decision shown at once, the oldest first
DECIDED_PAGE = 50
SEATS_SHOWN = 500  # a council seats a handful a term: every seat ever, in practice
CHOICES = ("uphold", "reject", "abstain")


class Appeal(BaseModel):
    """An appeal as the committee sees it."""

    appeal: str
    resident: str
    transaction: str
    reason: str
    state: str
    reviewer: str
    decision_reason: str
    compensation_centipoints: int
    create_time: datetime | None
    decide_time: datetime | None


class AppealPage(BaseModel):
    """A page of appeals and the token of the next one ('' on the last)."""

    appeals: list[Appeal]
    next_page_token: str


class Member(BaseModel):
    """A council seat and its term."""

    member: str
    resident: str
    seat: str
    organisation: str
    term_start_date: str
    term_end_date: str
    ended: bool


class Vote(BaseModel):
    """One member's vote on an appeal."""

    member: str
    choice: str
    compensation_centipoints: int


class Decision(BaseModel):
    """The council's decision on an appeal at a meeting, with the votes."""

    appeal: str
    upheld: bool
    compensation_centipoints: int
    reason: str
    consensus: bool
    votes: list[Vote]
    recorded_by: str
    decide_time: datetime | None


class Adoption(BaseModel):
    """A quarter's audit adopted at a meeting."""

    year: int
    quarter: int
    integrity_ok: bool
    transactions_checked: int
    accounts_checked: int
    breaks: int
    report_sha256: str
    adopted_by: str
    adopt_time: datetime | None


class Meeting(BaseModel):
    """A council meeting: agenda, attendance, quorum, decisions and minutes."""

    meeting: str
    title: str
    schedule_time: datetime | None
    state: str
    agenda_appeals: list[str]
    agenda_audits: list[tuple[int, int]]
    attendees: list[str]
    quorum: bool
    quorum_detail: str
    minutes: str
    decisions: list[Decision]
    audits: list[Adoption]


class Audit(BaseModel):
    """A quarter's audit report: the JSON and CSV as points made them, and what they say."""

    year: int
    quarter: int
    json_text: str
    csv_text: str
    report: dict[str, Any]


class QuarterRecord(BaseModel):
    """One quarter of the public record: counts only."""

    year: int
    quarter: int
    appeals_filed: int
    appeals_upheld: int
    appeals_rejected: int
    appeals_open: int
    appeals_decided_by_council: int
    median_days_to_decide: int
    max_days_to_decide: int
    compensation_centipoints: int
    audit_adopted: bool
    audit_integrity_ok: bool
    audit_adopt_time: datetime | None
    audit_overdue: bool


def council(svc: Services) -> cnl_grpc.CouncilServiceStub:
    """CouncilService, served by the points process beside PointsService."""
    return cnl_grpc.CouncilServiceStub(svc.channels["points"])


def _appeal(a: pts.Appeal) -> Appeal:
    return Appeal(
        appeal=a.name,
        resident=a.resident,
        transaction=a.transaction,
        reason=a.reason,
        state=enum_name(pts.AppealState.Name(a.state), "APPEAL_STATE_"),
        reviewer=a.reviewer,
        decision_reason=a.decision_reason,
        compensation_centipoints=a.compensation_centipoints,
        create_time=when(a, "create_time"),
        decide_time=when(a, "decide_time"),
    )


def _member(m: cnl.CouncilMember) -> Member:
    return Member(
        member=m.name,
        resident=m.resident,
        seat=enum_name(cnl.Seat.Name(m.seat), "SEAT_"),
        organisation=m.organisation,
        term_start_date=m.term_start_date,
        term_end_date=m.term_end_date,
        ended=m.HasField("end_time"),
    )


def _meeting(m: cnl.Meeting) -> Meeting:
    return Meeting(
        meeting=m.name,
        title=m.title,
        schedule_time=when(m, "schedule_time"),
        state=enum_name(cnl.MeetingState.Name(m.state), "MEETING_STATE_"),
        agenda_appeals=[i.appeal for i in m.agenda if i.WhichOneof("item") == "appeal"],
        agenda_audits=[
            (i.audit.year, i.audit.quarter) for i in m.agenda if i.WhichOneof("item") == "audit"
        ],
        attendees=list(m.attendees),
        quorum=m.quorum,
        quorum_detail=m.quorum_detail,
        minutes=m.minutes,
        decisions=[
            Decision(
                appeal=d.appeal,
                upheld=d.upheld,
                compensation_centipoints=d.compensation_centipoints,
                reason=d.reason,
                consensus=d.consensus,
                votes=[
                    Vote(
                        member=v.member,
                        choice=enum_name(cnl.VoteChoice.Name(v.choice), "VOTE_CHOICE_"),
                        compensation_centipoints=v.compensation_centipoints,
                    )
                    for v in d.votes
                ],
                recorded_by=d.recorded_by,
                decide_time=when(d, "decide_time"),
            )
            for d in m.decisions
        ],
        audits=[
            Adoption(
                year=a.quarter.year,
                quarter=a.quarter.quarter,
                integrity_ok=a.integrity_ok,
                transactions_checked=a.transactions_checked,
                accounts_checked=a.accounts_checked,
                breaks=a.breaks,
                report_sha256=a.report_sha256,
                adopted_by=a.adopted_by,
                adopt_time=when(a, "adopt_time"),
            )
            for a in m.audits
        ],
    )


async def waiting_appeals(svc: Services, person: Person) -> list[Appeal]:
    """The community's appeals waiting for a decision, oldest first (up to WAITING_SHOWN)."""
    request = pts.ListAppealsRequest(
        parent=f"communities/{person.community}", states=[pts.APPEAL_STATE_FILED]
    )
    found = await every_page(
        svc.points.ListAppeals,
        request,
        "appeals",
        WAITING_SHOWN,
        metadata=person.metadata,
        timeout=svc.timeout,
    )
    return [_appeal(a) for a in found]


async def decided_appeals(svc: Services, person: Person, page_token: str = "") -> AppealPage:
    """A page of the community's decided appeals, oldest first."""
    request = pts.ListAppealsRequest(
        parent=f"communities/{person.community}",
        states=[pts.APPEAL_STATE_ACCEPTED, pts.APPEAL_STATE_REJECTED],
        page_size=DECIDED_PAGE,
        page_token=page_token,
    )
    reply = await svc.points.ListAppeals(request, metadata=person.metadata, timeout=svc.timeout)
    return AppealPage(
        appeals=[_appeal(a) for a in reply.appeals], next_page_token=reply.next_page_token
    )


async def appeal(svc: Services, person: Person, name: str) -> Appeal:
    """One appeal."""
    reply = await svc.points.GetAppeal(
        pts.GetAppealRequest(name=name), metadata=person.metadata, timeout=svc.timeout
    )
    return _appeal(reply.appeal)


async def decide_appeal(
    svc: Services,
    person: Person,
    name: str,
    accept: bool,
    reason: str,
    compensation_centipoints: int,
    request_id: str,
) -> Appeal:
    """One committee member decides (where the community's council rule allows it)."""
    request = pts.DecideAppealRequest(
        name=name,
        accept=accept,
        reason=reason,
        compensation_centipoints=compensation_centipoints,
        request_id=request_id,
    )
    reply = await svc.points.DecideAppeal(request, metadata=person.metadata, timeout=svc.timeout)
    return _appeal(reply.appeal)


async def members(svc: Services, person: Person) -> list[Member]:
    """The council's members, current and past (up to SEATS_SHOWN)."""
    found = await every_page(
        council(svc).ListMembers,
        cnl.ListMembersRequest(parent=f"communities/{person.community}"),
        "members",
        SEATS_SHOWN,
        metadata=person.metadata,
        timeout=svc.timeout,
    )
    return [_member(m) for m in found]


async def seat_member(
    svc: Services,
    person: Person,
    resident: str,
    seat: str,
    organisation: str,
    term: tuple[str, str],
    request_id: str,
) -> Member:
    """Seat a resident on the council for a term (social workers)."""
    given = cnl.CouncilMember(
        resident=resident,
        seat=cnl.Seat.Value(f"SEAT_{seat.upper()}"),
        organisation=organisation,
        term_start_date=term[0],
        term_end_date=term[1],
    )
    request = cnl.SeatMemberRequest(
        parent=f"communities/{person.community}", member=given, request_id=request_id
    )
    reply = await council(svc).SeatMember(request, metadata=person.metadata, timeout=svc.timeout)
    return _member(reply.member)


async def meetings(svc: Services, person: Person) -> list[Meeting]:
    """The community's meetings, newest first."""
    request = cnl.ListMeetingsRequest(parent=f"communities/{person.community}", page_size=100)
    reply = await council(svc).ListMeetings(request, metadata=person.metadata, timeout=svc.timeout)
    return [_meeting(m) for m in reply.meetings]


async def meeting(svc: Services, person: Person, name: str) -> Meeting:
    """One meeting."""
    reply = await council(svc).GetMeeting(
        cnl.GetMeetingRequest(name=name), metadata=person.metadata, timeout=svc.timeout
    )
    return _meeting(reply.meeting)


async def schedule_meeting(
    svc: Services,
    person: Person,
    title: str,
    at: datetime,
    appeal_names: list[str],
    audits: list[tuple[int, int]],
    request_id: str,
) -> Meeting:
    """Schedule a meeting with its agenda (social workers)."""
    agenda = [cnl.AgendaItem(appeal=a) for a in appeal_names]
    agenda += [cnl.AgendaItem(audit=cnl.AuditQuarter(year=y, quarter=q)) for y, q in audits]
    given = cnl.Meeting(title=title, schedule_time=stamp(at), agenda=agenda)
    request = cnl.ScheduleMeetingRequest(
        parent=f"communities/{person.community}", meeting=given, request_id=request_id
    )
    reply = await council(svc).ScheduleMeeting(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _meeting(reply.meeting)


async def record_attendance(
    svc: Services, person: Person, name: str, attendees: list[str], request_id: str
) -> Meeting:
    """Record who attended and hold the meeting (social workers)."""
    request = cnl.RecordAttendanceRequest(name=name, attendees=attendees, request_id=request_id)
    reply = await council(svc).RecordAttendance(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _meeting(reply.meeting)


async def cast_vote(
    svc: Services,
    person: Person,
    meeting_name: str,
    appeal_name: str,
    choice: str,
    compensation_centipoints: int,
    request_id: str,
) -> Vote:
    """The caller, a member present, votes on an appeal of the agenda."""
    request = cnl.CastVoteRequest(
        meeting=meeting_name,
        appeal=appeal_name,
        choice=cnl.VoteChoice.Value(f"VOTE_CHOICE_{choice.upper()}"),
        compensation_centipoints=compensation_centipoints,
        request_id=request_id,
    )
    reply = await council(svc).CastVote(request, metadata=person.metadata, timeout=svc.timeout)
    v = reply.vote
    return Vote(
        member=v.member,
        choice=enum_name(cnl.VoteChoice.Name(v.choice), "VOTE_CHOICE_"),
        compensation_centipoints=v.compensation_centipoints,
    )


async def decide_at_meeting(
    svc: Services,
    person: Person,
    meeting_name: str,
    appeal_name: str,
    reason: str,
    request_id: str,
) -> None:
    """Record the council's decision from the votes (applied through the appeal's one path)."""
    request = cnl.DecideAppealAtMeetingRequest(
        meeting=meeting_name, appeal=appeal_name, reason=reason, request_id=request_id
    )
    await council(svc).DecideAppealAtMeeting(request, metadata=person.metadata, timeout=svc.timeout)


async def adopt_audit(
    svc: Services, person: Person, meeting_name: str, year: int, quarter: int, request_id: str
) -> None:
    """Adopt a quarter's audit at the meeting (points verifies and records its integrity)."""
    request = cnl.AdoptAuditRequest(
        meeting=meeting_name,
        quarter=cnl.AuditQuarter(year=year, quarter=quarter),
        request_id=request_id,
    )
    await council(svc).AdoptAudit(request, metadata=person.metadata, timeout=svc.timeout)


async def close_meeting(
    svc: Services, person: Person, name: str, minutes: str, request_id: str
) -> None:
    """Record the minutes and close the meeting (social workers)."""
    request = cnl.CloseMeetingRequest(name=name, minutes=minutes, request_id=request_id)
    await council(svc).CloseMeeting(request, metadata=person.metadata, timeout=svc.timeout)


async def audit(svc: Services, person: Person, year: int, quarter: int) -> Audit:
    """Run the quarter's audit report (the ledger is verified as it is made)."""
    request = pts.GetAuditReportRequest(
        parent=f"communities/{person.community}", year=year, quarter=quarter
    )
    reply = await svc.points.GetAuditReport(request, metadata=person.metadata, timeout=svc.timeout)
    return Audit(
        year=year,
        quarter=quarter,
        json_text=reply.json,
        csv_text=reply.csv,
        report=json.loads(reply.json),
    )


async def public_record(svc: Services, person: Person, year: int) -> list[QuarterRecord]:
    """The public record of a year by quarter: counts only, no names."""
    request = cnl.GetPublicRecordRequest(parent=f"communities/{person.community}", year=year)
    reply = await council(svc).GetPublicRecord(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return [
        QuarterRecord(
            year=q.quarter.year,
            quarter=q.quarter.quarter,
            appeals_filed=q.appeals_filed,
            appeals_upheld=q.appeals_upheld,
            appeals_rejected=q.appeals_rejected,
            appeals_open=q.appeals_open,
            appeals_decided_by_council=q.appeals_decided_by_council,
            median_days_to_decide=q.median_days_to_decide,
            max_days_to_decide=q.max_days_to_decide,
            compensation_centipoints=q.compensation_centipoints,
            audit_adopted=q.audit_adopted,
            audit_integrity_ok=q.audit_integrity_ok,
            audit_adopt_time=when(q, "audit_adopt_time"),
            audit_overdue=q.audit_overdue,
        )
        for q in reply.quarters
    ]
