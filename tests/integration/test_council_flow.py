"""A quarter of the supervision council across real processes (issue 18, P8, P9).

identity, attendance and points (with the rest of the stack) run as OS processes on their own
PostgreSQL databases and one Redis, on mutual TLS (the session's `shared_stack`). Residents earn
their points the real way (earning.py); a social worker seats four of them on the council; two
appeal. A meeting without a third-party member has no quorum and cannot decide; a meeting with
quorum decides both appeals by the members' votes (the upheld one compensates through points'
one appeal path; the appellant on the council cannot vote on their own appeal; every other vote
asks identity whether voter and appellant share a household) and adopts the last quarter's
audit, which is published on points.events. The public record then shows it, without names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import grpc
import pytest
import redis
from google.protobuf import text_format
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.events.v1 import envelope_pb2, points_events_pb2
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import council_service_pb2 as cnl
from linli.points.v1 import council_service_pb2_grpc as cnl_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.testing import STACK_COMMUNITY as C
from linli_kit.testing import Stack as RunningStack
from linli_kit.testing import eventually, load_beside

earning = load_beside(__file__, "earning.py", "linli_integration_earning")
PARENT = f"communities/{C}"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Council:
    """Stubs as the social worker, and the council as each resident."""

    points: pts_grpc.PointsServiceStub
    council: cnl_grpc.CouncilServiceStub
    residents: list[str]
    running: RunningStack
    channels: list[grpc.Channel]

    def as_resident(
        self, resident: str
    ) -> tuple[cnl_grpc.CouncilServiceStub, pts_grpc.PointsServiceStub]:
        """CouncilService and PointsService called by a resident with their own token."""
        token = self.running.credentials.token(C, resident.rpartition("/")[2], "resident")
        channel = self.running.credentials.channel(self.running["points"].address, C, token=token)
        self.channels.append(channel)
        return cnl_grpc.CouncilServiceStub(channel), pts_grpc.PointsServiceStub(channel)


@pytest.fixture(scope="module")
def quarter(shared_stack: RunningStack) -> Iterator[Council]:
    """Five residents who earned 8 points each, and stubs acting as the social worker."""
    staff = shared_stack.bootstrap_staff()
    credentials = shared_stack.credentials
    token = credentials.token(C, staff.rpartition("/")[2], "social_worker")
    channels = {
        name: credentials.channel(shared_stack[name].address, C, token=token)
        for name in ("identity", "attendance", "points")
    }
    points = pts_grpc.PointsServiceStub(channels["points"])
    residents = earning.residents_with_points(
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        points,
        PARENT,
        5,
    )
    opened: list[grpc.Channel] = []
    yield Council(
        points, cnl_grpc.CouncilServiceStub(channels["points"]), residents, shared_stack, opened
    )
    for channel in [*channels.values(), *opened]:
        channel.close()


def _refused(call, request, code: grpc.StatusCode, words: str = "") -> None:
    with pytest.raises(grpc.RpcError) as refused:
        call(request)
    assert refused.value.code() == code, refused.value.details()
    assert words in (refused.value.details() or ""), refused.value.details()


def _quarters(now: datetime) -> tuple[int, int, int]:
    """The policy year now, this quarter and the quarter before the last ended one (Shanghai).

    Not the last ended quarter: the gateway's committee test adopts that one in the same stack.
    """
    local = now.astimezone(SHANGHAI)
    this = (local.month - 1) // 3 + 1
    return local.year, this, (this - 3) % 4 + 1


def _agenda(appeals: list[str], year: int, quarter: int) -> list[cnl.AgendaItem]:
    audit = cnl.AgendaItem(audit=cnl.AuditQuarter(year=year, quarter=quarter))
    return [*(cnl.AgendaItem(appeal=a) for a in appeals), audit]


def _schedule(council: cnl_grpc.CouncilServiceStub, title: str, agenda) -> cnl.Meeting:
    meeting = cnl.Meeting(title=title, agenda=agenda)
    meeting.schedule_time.FromDatetime(datetime.now(UTC))
    return council.ScheduleMeeting(
        cnl.ScheduleMeetingRequest(parent=PARENT, meeting=meeting, request_id=str(uuid.uuid4()))
    ).meeting


def _adopted_events(running: RunningStack, meeting: str) -> list[points_events_pb2.AuditAdopted]:
    settings = running["points"].settings
    stream = f"{settings['stream_prefix']}points.events"
    found = []
    for _, fields in redis.Redis.from_url(settings["redis_url"]).xrange(stream):
        envelope = envelope_pb2.EventEnvelope.FromString(fields[b"envelope"])
        if envelope.payload.Is(points_events_pb2.AuditAdopted.DESCRIPTOR):
            event = points_events_pb2.AuditAdopted()
            envelope.payload.Unpack(event)
            if event.meeting == meeting:
                found.append(event)
    return found


def test_a_quarter_of_the_council(quarter: Council) -> None:
    alice, bob, chair, ngo, rep = quarter.residents
    council, now = quarter.council, datetime.now(UTC)
    this_year, this, audited = _quarters(now)
    year = this_year if audited < this else this_year - 1  # the audited quarter's year
    # Seats: from identity's people only (points knows them from identity.events).
    _refused(
        council.SeatMember,
        cnl.SeatMemberRequest(
            parent=PARENT,
            member=cnl.CouncilMember(
                resident=f"{PARENT}/residents/r-nobody",
                seat=cnl.SEAT_RESIDENT_REPRESENTATIVE,
                term_start_date=f"{now.year}-01-01",
                term_end_date=f"{now.year + 1}-12-31",
            ),
            request_id=str(uuid.uuid4()),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "not a resident identity has registered",
    )
    seats = {
        bob: (cnl.SEAT_RESIDENT_REPRESENTATIVE, ""),
        chair: (cnl.SEAT_RESIDENTS_COMMITTEE, ""),
        ngo: (cnl.SEAT_THIRD_PARTY, "阳光社工事务所"),
        rep: (cnl.SEAT_RESIDENT_REPRESENTATIVE, ""),
    }
    seated = []
    for resident, (seat, organisation) in seats.items():
        seated.append(
            council.SeatMember(
                cnl.SeatMemberRequest(
                    parent=PARENT,
                    member=cnl.CouncilMember(
                        resident=resident,
                        seat=seat,
                        organisation=organisation,
                        term_start_date=f"{now.year}-01-01",
                        term_end_date=f"{now.year + 1}-12-31",
                    ),
                    request_id=str(uuid.uuid4()),
                )
            ).member.name
        )
    alice_council = quarter.as_resident(alice)[0]
    members = alice_council.ListMembers(cnl.ListMembersRequest(parent=PARENT)).members
    assert {m.resident for m in members} >= set(seats)
    record = cnl.GetPublicRecordRequest(parent=PARENT, year=this_year)
    before = alice_council.GetPublicRecord(record)

    # Two appeals: alice's, and bob's, who sits on the council.
    appeals, yearly = {}, {}
    for resident in (alice, bob):
        points = quarter.as_resident(resident)[1]
        listed = points.ListTransactions(pts.ListTransactionsRequest(parent=resident))
        (award,) = [t for t in listed.transactions if t.rule_id.startswith("p1.")]
        yearly[resident] = earning.balance(points, resident).yearly_centipoints
        appeals[resident] = points.CreateAppeal(
            pts.CreateAppealRequest(
                parent=resident,
                transaction=award.name,
                reason="纸质签到表记录的时长少了",
                request_id=str(uuid.uuid4()),
            )
        ).appeal.name
    agenda = _agenda(list(appeals.values()), year, audited)

    # A meeting without the third-party member has no quorum: it decides nothing.
    thin = _schedule(council, "监督会（缺第三方）", agenda)
    held = council.RecordAttendance(
        cnl.RecordAttendanceRequest(
            name=thin.name, attendees=[bob, chair, rep], request_id=str(uuid.uuid4())
        )
    ).meeting
    assert not held.quorum and "0 of 1 third party present" in held.quorum_detail
    chair_council = quarter.as_resident(chair)[0]
    chair_council.CastVote(
        cnl.CastVoteRequest(
            meeting=thin.name,
            appeal=appeals[alice],
            choice=cnl.VOTE_CHOICE_UPHOLD,
            compensation_centipoints=100,
            request_id=str(uuid.uuid4()),
        )
    )
    _refused(
        chair_council.DecideAppealAtMeeting,
        cnl.DecideAppealAtMeetingRequest(
            meeting=thin.name, appeal=appeals[alice], reason="-", request_id=str(uuid.uuid4())
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "no quorum",
    )
    _refused(
        chair_council.AdoptAudit,
        cnl.AdoptAuditRequest(
            meeting=thin.name,
            quarter=cnl.AuditQuarter(year=year, quarter=audited),
            request_id=str(uuid.uuid4()),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "no quorum",
    )
    council.CloseMeeting(
        cnl.CloseMeetingRequest(
            name=thin.name, minutes="未达法定人数, 改期", request_id=str(uuid.uuid4())
        )
    )

    # The quorate meeting: every seat, all four members.
    full = _schedule(council, "季度监督会", agenda)
    held = council.RecordAttendance(
        cnl.RecordAttendanceRequest(
            name=full.name, attendees=[bob, chair, ngo, rep], request_id=str(uuid.uuid4())
        )
    ).meeting
    assert held.quorum and held.state == cnl.MEETING_STATE_HELD
    bob_council = quarter.as_resident(bob)[0]
    own = cnl.CastVoteRequest(
        meeting=full.name,
        appeal=appeals[bob],
        choice=cnl.VOTE_CHOICE_UPHOLD,
        compensation_centipoints=800,
        request_id=str(uuid.uuid4()),
    )
    _refused(bob_council.CastVote, own, grpc.StatusCode.PERMISSION_DENIED, "their own appeal")
    votes = {
        (alice, bob): (cnl.VOTE_CHOICE_UPHOLD, 200),
        (alice, chair): (cnl.VOTE_CHOICE_UPHOLD, 150),
        (alice, ngo): (cnl.VOTE_CHOICE_REJECT, 0),
        (alice, rep): (cnl.VOTE_CHOICE_UPHOLD, 300),
        (bob, chair): (cnl.VOTE_CHOICE_REJECT, 0),
        (bob, ngo): (cnl.VOTE_CHOICE_REJECT, 0),
        (bob, rep): (cnl.VOTE_CHOICE_REJECT, 0),
    }
    for (appellant, voter), (choice, amount) in votes.items():
        quarter.as_resident(voter)[0].CastVote(
            cnl.CastVoteRequest(
                meeting=full.name,
                appeal=appeals[appellant],
                choice=choice,
                compensation_centipoints=amount,
                request_id=str(uuid.uuid4()),
            )
        )
    upheld = chair_council.DecideAppealAtMeeting(
        cnl.DecideAppealAtMeetingRequest(
            meeting=full.name,
            appeal=appeals[alice],
            reason="签到表与活动记录一致, 补足时长",
            request_id=str(uuid.uuid4()),
        )
    ).decision
    _refused(
        bob_council.DecideAppealAtMeeting,
        cnl.DecideAppealAtMeetingRequest(
            meeting=full.name, appeal=appeals[bob], reason="-", request_id=str(uuid.uuid4())
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "their own appeal",
    )
    rejected = (
        quarter.as_resident(ngo)[0]
        .DecideAppealAtMeeting(
            cnl.DecideAppealAtMeetingRequest(
                meeting=full.name,
                appeal=appeals[bob],
                reason="签到表时长无误",
                request_id=str(uuid.uuid4()),
            )
        )
        .decision
    )
    assert (upheld.upheld, upheld.compensation_centipoints, upheld.consensus) == (True, 150, False)
    assert len(upheld.votes) == 4 and upheld.recorded_by == chair
    assert (rejected.upheld, rejected.consensus, len(rejected.votes)) == (False, True, 3)
    adoption = (
        quarter.as_resident(ngo)[0]
        .AdoptAudit(
            cnl.AdoptAuditRequest(
                meeting=full.name,
                quarter=cnl.AuditQuarter(year=year, quarter=audited),
                request_id=str(uuid.uuid4()),
            )
        )
        .adoption
    )
    assert adoption.integrity_ok and adoption.breaks == 0 and adoption.transactions_checked > 0
    closed = council.CloseMeeting(
        cnl.CloseMeetingRequest(
            name=full.name,
            minutes="审议申诉两件: 一件支持, 一件驳回; 通过季度审计报告",
            request_id=str(uuid.uuid4()),
        )
    ).meeting
    assert closed.state == cnl.MEETING_STATE_CLOSED and len(closed.decisions) == 2

    # Points applied the decisions its one way: a compensating posting for alice only.
    alice_points = quarter.as_resident(alice)[1]
    decided = alice_points.GetAppeal(pts.GetAppealRequest(name=appeals[alice])).appeal
    assert decided.state == pts.APPEAL_STATE_ACCEPTED and decided.compensation_centipoints == 150
    assert earning.balance(alice_points, alice).yearly_centipoints == yearly[alice] + 150
    bobs = quarter.points.GetAppeal(pts.GetAppealRequest(name=appeals[bob])).appeal
    assert bobs.state == pts.APPEAL_STATE_REJECTED
    assert earning.balance(quarter.points, bob).yearly_centipoints == yearly[bob]
    # The adoption is an event on points.events (relayed from the outbox).
    eventually(lambda: len(_adopted_events(quarter.running, full.name)), 1)
    (event,) = _adopted_events(quarter.running, full.name)
    assert (event.year, event.quarter, event.integrity_ok) == (year, audited, True)
    assert event.report_sha256 == adoption.report_sha256

    # The public record: readable by any resident, counts and days only, no names.
    after = alice_council.GetPublicRecord(record)
    was, now_is = before.quarters[this - 1], after.quarters[this - 1]
    assert now_is.appeals_filed - was.appeals_filed == 2
    assert now_is.appeals_upheld - was.appeals_upheld == 1
    assert now_is.appeals_rejected - was.appeals_rejected == 1
    assert now_is.appeals_decided_by_council - was.appeals_decided_by_council == 2
    assert now_is.max_days_to_decide >= 1
    if year == this_year:
        adopted = after.quarters[audited - 1]
        assert adopted.audit_adopted and adopted.audit_integrity_ok and not adopted.audit_overdue
    assert "residents/" not in text_format.MessageToString(after)

    # Leave the stack's council as found: the gateway's committee test seats a council of its own.
    for name in seated:
        council.EndMembership(
            cnl.EndMembershipRequest(name=name, reason="test over", request_id=str(uuid.uuid4()))
        )
