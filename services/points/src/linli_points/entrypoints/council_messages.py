"""The council's records as CouncilService messages, and request fields as domain values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from linli.points.v1 import council_service_pb2 as pb

from linli_kit.errors import InvalidArgument
from linli_kit.wire import timestamp
from linli_points.domain.council import (
    AppealDecision,
    AuditAdoption,
    CouncilRule,
    Meeting,
    MeetingState,
    Member,
    QuarterRecord,
    Seat,
    Vote,
    VoteChoice,
)
from linli_points.names import APPEAL, COUNCIL_MEETING, COUNCIL_MEMBER, RESIDENT

SEATS = {
    pb.SEAT_RESIDENTS_COMMITTEE: Seat.RESIDENTS_COMMITTEE,
    pb.SEAT_RESIDENT_REPRESENTATIVE: Seat.RESIDENT_REPRESENTATIVE,
    pb.SEAT_THIRD_PARTY: Seat.THIRD_PARTY,
}
SEAT_CODES = {seat: code for code, seat in SEATS.items()}
CHOICES = {
    pb.VOTE_CHOICE_UPHOLD: VoteChoice.UPHOLD,
    pb.VOTE_CHOICE_REJECT: VoteChoice.REJECT,
    pb.VOTE_CHOICE_ABSTAIN: VoteChoice.ABSTAIN,
}
CHOICE_CODES = {choice: code for code, choice in CHOICES.items()}
STATES = {
    MeetingState.SCHEDULED: pb.MEETING_STATE_SCHEDULED,
    MeetingState.HELD: pb.MEETING_STATE_HELD,
    MeetingState.CLOSED: pb.MEETING_STATE_CLOSED,
}


def seat_of(code: int) -> Seat:
    """The seat a request names, or InvalidArgument."""
    if code not in SEATS:
        raise InvalidArgument("seat must be a residents' committee, resident or third-party seat")
    return SEATS[code]


def choice_of(code: int) -> VoteChoice:
    """The vote a request casts, or InvalidArgument."""
    if code not in CHOICES:
        raise InvalidArgument("choice must be VOTE_CHOICE_UPHOLD, _REJECT or _ABSTAIN")
    return CHOICES[code]


def date_of(text: str, field: str) -> date:
    """A YYYY-MM-DD date of a request field, or InvalidArgument."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"{field} must be a date YYYY-MM-DD") from None


def resident_in(community_id: str, name: str, field: str) -> str:
    """The id of a resident of the community named in a field, or InvalidArgument."""
    ids = RESIDENT.parse(name, field)
    if ids["community"] != community_id:
        raise InvalidArgument(f"{field} must be a resident of {community_id}")
    return ids["resident"]


def appeal_in(community_id: str, name: str, field: str) -> str:
    """The id of an appeal of the community named in a field, or InvalidArgument."""
    ids = APPEAL.parse(name, field)
    if ids["community"] != community_id:
        raise InvalidArgument(f"{field} must be an appeal of {community_id}")
    return ids["appeal"]


def _resident(community_id: str, resident_id: str) -> str:
    return RESIDENT.format(community=community_id, resident=resident_id)


def member_message(m: Member) -> pb.CouncilMember:
    """A seat as its message."""
    return pb.CouncilMember(
        name=COUNCIL_MEMBER.format(community=m.community_id, member=m.id),
        resident=_resident(m.community_id, m.resident_id),
        seat=SEAT_CODES[m.seat],
        organisation=m.organisation,
        term_start_date=m.term_start.isoformat(),
        term_end_date=m.term_end.isoformat(),
        seat_time=timestamp(m.seated_at),
        end_time=timestamp(m.ended_at),
    )


def vote_message(community_id: str, v: Vote) -> pb.Vote:
    """A vote as its message."""
    return pb.Vote(
        member=_resident(community_id, v.member),
        choice=CHOICE_CODES[v.choice],
        compensation_centipoints=v.compensation,
    )


def decision_message(community_id: str, d: AppealDecision) -> pb.AppealDecision:
    """A council decision as its message."""
    return pb.AppealDecision(
        appeal=APPEAL.format(community=community_id, appeal=d.appeal_id),
        upheld=d.upheld,
        compensation_centipoints=d.compensation,
        reason=d.reason,
        consensus=d.consensus,
        votes=[vote_message(community_id, v) for v in d.votes],
        recorded_by=_resident(community_id, d.recorded_by),
        decide_time=timestamp(d.decided_at),
    )


def adoption_message(community_id: str, a: AuditAdoption) -> pb.AuditAdoption:
    """An adopted audit as its message."""
    return pb.AuditAdoption(
        quarter=pb.AuditQuarter(year=a.year, quarter=a.quarter),
        integrity_ok=a.integrity_ok,
        transactions_checked=a.transactions_checked,
        accounts_checked=a.accounts_checked,
        breaks=a.breaks,
        report_sha256=a.report_sha256,
        meeting=COUNCIL_MEETING.format(community=community_id, meeting=a.meeting_id),
        adopted_by=_resident(community_id, a.adopted_by),
        adopt_time=timestamp(a.adopted_at),
    )


def meeting_message(m: Meeting, members: Iterable[Member], rule: CouncilRule) -> pb.Meeting:
    """A meeting as its message, with its quorum under the community's rule."""
    c = m.community_id
    found = m.quorum(rule, members)
    agenda = [pb.AgendaItem(appeal=APPEAL.format(community=c, appeal=a)) for a in m.appeal_ids]
    agenda += [pb.AgendaItem(audit=pb.AuditQuarter(year=y, quarter=q)) for y, q in m.audits]
    return pb.Meeting(
        name=COUNCIL_MEETING.format(community=c, meeting=m.id),
        title=m.title,
        schedule_time=timestamp(m.scheduled_for),
        agenda=agenda,
        state=STATES[m.state],
        attendees=[_resident(c, r) for r in sorted(m.attendees)],
        quorum=found.met,
        quorum_detail=found.detail,
        minutes=m.minutes,
        decisions=[decision_message(c, d) for d in m.decisions.values()],
        audits=[adoption_message(c, a) for _, a in sorted(m.adoptions.items())],
        hold_time=timestamp(m.held_at),
        close_time=timestamp(m.closed_at),
    )


def quarter_message(r: QuarterRecord) -> pb.QuarterRecord:
    """A quarter of the public record as its message: counts only."""
    adopted = r.adoption
    return pb.QuarterRecord(
        quarter=pb.AuditQuarter(year=r.year, quarter=r.quarter),
        appeals_filed=r.filed,
        appeals_upheld=r.upheld,
        appeals_rejected=r.rejected,
        appeals_open=r.open,
        appeals_decided_by_council=r.by_council,
        median_days_to_decide=r.median_days,
        max_days_to_decide=r.max_days,
        compensation_centipoints=r.compensation,
        audit_adopted=adopted is not None,
        audit_integrity_ok=adopted is not None and adopted.integrity_ok,
        audit_adopt_time=timestamp(adopted.adopted_at if adopted else None),
        audit_overdue=r.overdue,
    )
