"""Every mutating CouncilService RPC replays a retry and refuses its request id reused otherwise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest
from google.protobuf.message import Message
from linli.points.v1 import council_service_pb2 as pb
from linli.points.v1 import council_service_pb2_grpc as pb_grpc

from linli_kit.principals import SYSTEM, Role
from linli_kit.testing import assert_retry_replays, load_beside, mutating_methods
from linli_points.domain.council import Seat, VoteChoice
from linli_points.domain.rules import DEFAULT_CATALOG, ServiceType
from linli_points.service_layer import appeals, commands, council, earning

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")
C = "c-east"
COMMUNITY = f"communities/{C}"
METHODS = mutating_methods(pb.DESCRIPTOR.services_by_name["CouncilService"])
SEATS = {
    "r-chair": Seat.RESIDENTS_COMMITTEE,
    "r-rep": Seat.RESIDENT_REPRESENTATIVE,
    "r-ngo": Seat.THIRD_PARTY,
}
Samples = tuple[Message, Message]


def stub(app, resident: str, *roles: str) -> pb_grpc.CouncilServiceStub:
    """CouncilService called by a signed-in person."""
    metadata = app.credentials.person(C, resident, *roles)
    return pb_grpc.CouncilServiceStub(app._channel(app._gateway(), metadata))


def social_worker(app) -> pb_grpc.CouncilServiceStub:
    return stub(app, "r-sw", Role.SOCIAL_WORKER)


def chair(app) -> pb_grpc.CouncilServiceStub:
    return stub(app, "r-chair", Role.RESIDENT)


def _clock(app):
    return lambda: app.now


def seated(app, *residents: str) -> dict[str, str]:
    """Residents identity registered, seated for 2026; their seats' ids."""
    found = {}
    for resident in residents:
        earning.record_org_unit(commands.RecordOrgUnit(f"reg-{resident}", C, resident, ""), app.uow)
        kind = SEATS.get(resident, Seat.RESIDENT_REPRESENTATIVE)
        found[resident] = council.seat(
            council.SeatMember(
                SYSTEM,
                f"seat-{resident}",
                C,
                resident,
                kind,
                "NGO" if kind is Seat.THIRD_PARTY else "",
                date(2026, 1, 1),
                date(2026, 12, 31),
            ),
            app.uow,
            _clock(app),
        ).id
    return found


def meeting(app, *, held: bool) -> tuple[str, str]:
    """The council seated, alice's appeal, a meeting on it and on 2025 Q4 (held or not)."""
    seated(app, *SEATS)
    award = earning.award_for_session(
        commands.AwardForSession(
            event_id="e-alice",
            community_id=C,
            resident_id="r-alice",
            session=f"{COMMUNITY}/activities/a/sessions/s1",
            service_type=ServiceType.REGULAR,
            duration_seconds=3 * 3600,
            signed_in_at=app.now - timedelta(days=9),
        ),
        app.uow,
    )
    appeal = appeals.file_an_appeal(
        commands.FileAppeal(
            fakes.person(C, "r-alice"), "file", C, "r-alice", award.id, "I served longer"
        ),
        app.uow,
        _clock(app),
    )
    scheduled = council.schedule(
        council.ScheduleMeeting(SYSTEM, "meet", C, "监督会", app.now, (appeal.id,), ((2025, 4),)),
        app.uow,
        _clock(app),
    )
    if held:
        council.record_attendance(
            council.RecordAttendance(SYSTEM, "attend", C, scheduled.id, tuple(SEATS)),
            app.uow,
            _clock(app),
        )
    return f"{COMMUNITY}/councilMeetings/{scheduled.id}", f"{COMMUNITY}/appeals/{appeal.id}"


def _member(resident: str, end: str) -> pb.CouncilMember:
    return pb.CouncilMember(
        resident=f"{COMMUNITY}/residents/{resident}",
        seat=pb.SEAT_RESIDENT_REPRESENTATIVE,
        term_start_date="2026-01-01",
        term_end_date=end,
    )


async def seat_member(app) -> Samples:
    earning.record_org_unit(commands.RecordOrgUnit("reg", C, "r-rep", ""), app.uow)
    return (
        pb.SeatMemberRequest(
            parent=COMMUNITY, member=_member("r-rep", "2026-12-31"), request_id="q"
        ),
        pb.SeatMemberRequest(
            parent=COMMUNITY, member=_member("r-rep", "2027-12-31"), request_id="q"
        ),
    )


async def end_membership(app) -> Samples:
    name = f"{COMMUNITY}/councilMembers/{seated(app, 'r-rep')['r-rep']}"
    return (
        pb.EndMembershipRequest(name=name, reason="moved away", request_id="q"),
        pb.EndMembershipRequest(name=name, reason="resigned", request_id="q"),
    )


async def schedule_meeting(app) -> Samples:
    def request(title: str) -> pb.ScheduleMeetingRequest:
        given = pb.Meeting(
            title=title, agenda=[pb.AgendaItem(audit=pb.AuditQuarter(year=2025, quarter=4))]
        )
        given.schedule_time.FromDatetime(app.now)
        return pb.ScheduleMeetingRequest(parent=COMMUNITY, meeting=given, request_id="q")

    return request("2025 Q4 监督会"), request("another")


async def record_attendance(app) -> Samples:
    name, _ = meeting(app, held=False)
    present = [f"{COMMUNITY}/residents/{r}" for r in SEATS]
    return (
        pb.RecordAttendanceRequest(name=name, attendees=present, request_id="q"),
        pb.RecordAttendanceRequest(name=name, attendees=present[:2], request_id="q"),
    )


async def cast_vote(app) -> Samples:
    name, appeal = meeting(app, held=True)

    def request(amount: int) -> pb.CastVoteRequest:
        return pb.CastVoteRequest(
            meeting=name,
            appeal=appeal,
            choice=pb.VOTE_CHOICE_UPHOLD,
            compensation_centipoints=amount,
            request_id="q",
        )

    return request(100), request(120)


async def decide_appeal_at_meeting(app) -> Samples:
    name, appeal = meeting(app, held=True)
    appeal_id = appeal.rpartition("/")[2]
    for voter in ("r-rep", "r-ngo"):
        council.cast_vote(
            council.CastVote(
                fakes.person(C, voter),
                f"v-{voter}",
                C,
                name.rpartition("/")[2],
                appeal_id,
                VoteChoice.UPHOLD,
                100,
            ),
            app.uow,
            fakes.FakeHouseholds(),
            DEFAULT_CATALOG,
            _clock(app),
        )
    return (
        pb.DecideAppealAtMeetingRequest(meeting=name, appeal=appeal, reason="a", request_id="q"),
        pb.DecideAppealAtMeetingRequest(meeting=name, appeal=appeal, reason="b", request_id="q"),
    )


async def adopt_audit(app) -> Samples:
    name, _ = meeting(app, held=True)
    return (
        pb.AdoptAuditRequest(
            meeting=name, quarter=pb.AuditQuarter(year=2025, quarter=4), request_id="q"
        ),
        pb.AdoptAuditRequest(
            meeting=name, quarter=pb.AuditQuarter(year=2025, quarter=3), request_id="q"
        ),
    )


async def close_meeting(app) -> Samples:
    name, _ = meeting(app, held=True)
    return (
        pb.CloseMeetingRequest(name=name, minutes="纪要", request_id="q"),
        pb.CloseMeetingRequest(name=name, minutes="另一份纪要", request_id="q"),
    )


Caller = Callable[..., pb_grpc.CouncilServiceStub]
SAMPLES: dict[str, tuple[Callable[..., Awaitable[Samples]], Caller]] = {
    "SeatMember": (seat_member, social_worker),
    "EndMembership": (end_membership, social_worker),
    "ScheduleMeeting": (schedule_meeting, social_worker),
    "RecordAttendance": (record_attendance, social_worker),
    "CastVote": (cast_vote, chair),
    "DecideAppealAtMeeting": (decide_appeal_at_meeting, chair),
    "AdoptAudit": (adopt_audit, chair),
    "CloseMeeting": (close_meeting, social_worker),
}


def test_every_mutating_council_rpc_has_a_sample() -> None:
    assert sorted(m.name for m in METHODS) == sorted(SAMPLES)


@pytest.mark.parametrize("method", [m.name for m in METHODS])
async def test_a_council_retry_returns_the_first_answer(points_app, method: str) -> None:
    sample, caller = SAMPLES[method]
    request, changed = await sample(points_app)

    await assert_retry_replays(getattr(caller(points_app), method), request, changed)
