"""The supervision council's rules (issue 18): seats, quorum, votes, decisions and audits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import yaml
from linli.points.v1 import council_service_pb2 as council_pb
from linli.points.v1 import council_service_pb2_grpc as council_grpc
from prometheus_client import REGISTRY

from linli_kit.auth import missing_entries
from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from linli_kit.principals import SYSTEM, Role
from linli_kit.testing import load_beside, mutating_methods
from linli_points.domain import council as rules
from linli_points.domain.council import CouncilRule, Seat, VoteChoice
from linli_points.domain.rules import DEFAULT_CATALOG, ServiceType
from linli_points.entrypoints import council_api
from linli_points.entrypoints.council_api import POLICY
from linli_points.service_layer import appeals, commands, council, earning

fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")
C = "c-east"
FILED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Q1 2026
MEETING = datetime(2026, 4, 20, 1, 0, tzinfo=UTC)  # Q1 has ended, its audit not yet overdue
SOCIAL_WORKER = fakes.person(C, "r-staff", Role.SOCIAL_WORKER)
TERM = (date(2026, 1, 1), date(2027, 12, 31))
# alice appeals; her husband ivan sits on the council for the residents.
SEATS = {
    "r-chair": Seat.RESIDENTS_COMMITTEE,
    "r-ivan": Seat.RESIDENT_REPRESENTATIVE,
    "r-rep": Seat.RESIDENT_REPRESENTATIVE,
    "r-ngo": Seat.THIRD_PARTY,
}
RULE = CouncilRule()
ALERTS = Path(__file__).resolve().parents[4] / "deploy" / "helm" / "linli" / "files" / "alerts.yaml"
ALERT = "LinliCouncilAuditOverdue"


def at(when: datetime):
    """A clock stopped at one instant."""
    return lambda: when


def register(uow, *residents: str) -> None:
    """Residents identity registered (ResidentRegistered reached points)."""
    for resident in residents:
        earning.record_org_unit(
            commands.RecordOrgUnit(f"reg-{resident}", C, resident, "grid-1/building-1"), uow
        )


def seat(uow, resident: str, seat_kind: Seat, *, request_id: str | None = None, term=TERM):
    """A social worker seats a resident."""
    return council.seat(
        council.SeatMember(
            SOCIAL_WORKER,
            request_id or f"seat-{resident}",
            C,
            resident,
            seat_kind,
            "阳光社工事务所" if seat_kind is Seat.THIRD_PARTY else "",
            *term,
        ),
        uow,
        at(FILED),
    )


def file(uow, resident: str = "r-alice", hours: int = 2):
    """A resident's award and their appeal against it."""
    award = earning.award_for_session(
        commands.AwardForSession(
            event_id=f"e-{resident}",
            community_id=C,
            resident_id=resident,
            session=f"communities/{C}/activities/a/sessions/s-{resident}",
            service_type=ServiceType.REGULAR,
            duration_seconds=hours * 3600,
            signed_in_at=FILED - timedelta(days=1),
        ),
        uow,
    )
    return appeals.file_an_appeal(
        commands.FileAppeal(
            fakes.person(C, resident), f"file-{resident}", C, resident, award.id, "I served longer"
        ),
        uow,
        at(FILED),
    )


@pytest.fixture
def households():
    """alice and ivan share a household in identity."""
    found = fakes.FakeHouseholds()
    found.of[(C, "r-alice")] = found.of[(C, "r-ivan")] = "h-12"
    return found


@pytest.fixture
def seated(uow):
    """The council seated, bob's and alice's appeals filed."""
    register(uow, *SEATS, "r-alice", "r-bob")
    for resident, kind in SEATS.items():
        seat(uow, resident, kind)
    return {"alice": file(uow, "r-alice"), "bob": file(uow, "r-bob")}


def schedule(uow, *appeal_ids: str, audits=((2026, 1),)):
    return council.schedule(
        council.ScheduleMeeting(
            SOCIAL_WORKER,
            f"meet-{len(appeal_ids)}",
            C,
            "2026 Q1 监督会",
            MEETING,
            appeal_ids,
            audits,
        ),
        uow,
        at(MEETING - timedelta(days=7)),
    )


def attend(uow, meeting, *present: str, request_id: str = "attend"):
    return council.record_attendance(
        council.RecordAttendance(SOCIAL_WORKER, request_id, C, meeting.id, present),
        uow,
        at(MEETING),
    )


def vote(uow, households, meeting, appeal, voter, choice=VoteChoice.UPHOLD, amount=100):
    return council.cast_vote(
        council.CastVote(
            fakes.person(C, voter),
            f"vote-{voter}-{appeal.id}",
            C,
            meeting.id,
            appeal.id,
            choice,
            amount if choice is VoteChoice.UPHOLD else 0,
        ),
        uow,
        households,
        DEFAULT_CATALOG,
        at(MEETING),
    )


def decide(uow, households, meeting, appeal, recorder="r-chair", rule=RULE, request_id=None):
    return council.decide(
        council.DecideAtMeeting(
            fakes.person(C, recorder),
            request_id or f"decide-{appeal.id}",
            C,
            meeting.id,
            appeal.id,
            "the sign-in sheet shows the longer service",
        ),
        uow,
        households,
        DEFAULT_CATALOG,
        lambda community_id: rule,
        at(MEETING),
    )


def member(resident: str, kind: Seat):
    return rules.seat_member(
        community_id=C,
        resident_id=resident,
        seat=kind,
        organisation="NGO" if kind is Seat.THIRD_PARTY else "",
        term_start=TERM[0],
        term_end=TERM[1],
        seated_by="r-staff",
        at=FILED,
        seats_held=[],
    )


# --- the domain's rules -------------------------------------------------------------------


def test_quorum_needs_each_seat_and_a_majority_of_the_members_serving() -> None:
    members = [member(r, k) for r, k in SEATS.items()]

    assert rules.quorum(RULE, members, {"r-chair", "r-rep", "r-ngo"}).met
    no_third_party = rules.quorum(RULE, members, {"r-chair", "r-rep", "r-ivan"})
    assert not no_third_party.met and "0 of 1 third party" in no_third_party.detail
    half = rules.quorum(CouncilRule(each_seat=0), members, {"r-chair", "r-ngo"})
    assert not half.met and "2 of 4 members present is not a majority" in half.detail
    assert rules.quorum(CouncilRule(each_seat=0, majority=False), members, {"r-ngo"}).met
    # Residents who are not serving count for nothing.
    assert not rules.quorum(RULE, members, {"r-chair", "r-ngo", "r-x", "r-y"}).met


def test_a_member_is_not_serving_outside_their_term_or_after_it_ended() -> None:
    seated = member("r-rep", Seat.RESIDENT_REPRESENTATIVE)
    assert seated.serves_on(date(2026, 6, 1)) and not seated.serves_on(date(2028, 1, 1))
    seated.end(datetime(2026, 6, 1, 4, tzinfo=UTC), "moved away")
    assert seated.serves_on(date(2026, 5, 31)) and not seated.serves_on(date(2026, 6, 1))
    with pytest.raises(FailedPrecondition):
        seated.end(datetime(2026, 7, 1, tzinfo=UTC), "again")


def test_seats_name_an_organisation_only_for_a_third_party_and_terms_do_not_overlap() -> None:
    with pytest.raises(InvalidArgument, match="names its organisation"):
        rules.seat_member(**_seat_args(Seat.THIRD_PARTY, organisation=" "))
    with pytest.raises(InvalidArgument, match="only a third-party"):
        rules.seat_member(**_seat_args(Seat.RESIDENT_REPRESENTATIVE, organisation="NGO"))
    with pytest.raises(InvalidArgument, match="ends on or after"):
        rules.seat_member(**_seat_args(Seat.RESIDENTS_COMMITTEE, term_end=date(2025, 1, 1)))
    held = member("r-rep", Seat.RESIDENT_REPRESENTATIVE)
    with pytest.raises(AlreadyExists, match="overlapping"):
        rules.seat_member(**_seat_args(Seat.RESIDENTS_COMMITTEE, seats_held=[held]))
    later = _seat_args(Seat.RESIDENTS_COMMITTEE, seats_held=[held])
    later.update(term_start=date(2028, 1, 1), term_end=date(2029, 12, 31))
    assert rules.seat_member(**later).term_start == date(2028, 1, 1)


def _seat_args(kind: Seat, **changes):
    args = dict(
        community_id=C,
        resident_id="r-rep",
        seat=kind,
        organisation="",
        term_start=TERM[0],
        term_end=TERM[1],
        seated_by="r-staff",
        at=FILED,
        seats_held=[],
    )
    return args | changes


def test_nobody_votes_on_their_own_their_households_or_against_their_own_decision() -> None:
    assert rules.conflict("r-alice", "r-alice", "", False) == "nobody votes on their own appeal"
    assert "household" in rules.conflict("r-ivan", "r-alice", "", True)
    assert "their own decision" in rules.conflict("r-staff", "r-alice", "r-staff", False)
    assert rules.conflict("r-rep", "r-alice", "r-staff", False) == ""


def test_the_votes_decide_the_least_compensation_every_upholder_supports() -> None:
    members = [member(r, k) for r, k in SEATS.items()]
    meeting = rules.schedule_meeting(
        community_id=C,
        title="t",
        scheduled_for=MEETING,
        scheduled_by="r-staff",
        appeal_ids=["a1"],
        audits=[],
        now=MEETING,
    )
    meeting.record_attendance({"r-chair", "r-rep", "r-ngo"}, members, MEETING)
    for voter, amount in (("r-chair", 150), ("r-rep", 100)):
        meeting.cast_vote(
            voter=voter,
            appeal_id="a1",
            choice=VoteChoice.UPHOLD,
            compensation=amount,
            ceiling=200,
            conflicted="",
            at=MEETING,
        )
    meeting.cast_vote(
        voter="r-ngo",
        appeal_id="a1",
        choice=VoteChoice.REJECT,
        compensation=0,
        ceiling=200,
        conflicted="",
        at=MEETING,
    )
    decision = meeting.decide(
        recorder="r-ngo",
        appeal_id="a1",
        reason="r",
        conflicted="",
        rule=RULE,
        members=members,
        at=MEETING,
    )
    assert (decision.upheld, decision.compensation, decision.consensus) == (True, 100, False)
    assert [v.member for v in decision.votes] == ["r-chair", "r-ngo", "r-rep"]


# --- the use cases on fakes ----------------------------------------------------------------


def test_only_a_resident_identity_registered_is_seated_and_only_by_a_social_worker(uow) -> None:
    with pytest.raises(FailedPrecondition, match="not a resident identity has registered"):
        seat(uow, "r-stranger", Seat.RESIDENT_REPRESENTATIVE)
    register(uow, "r-rep")
    with pytest.raises(PermissionDenied, match="social workers"):
        council.seat(
            council.SeatMember(
                fakes.person(C, "r-rep", Role.COMMITTEE_MEMBER),
                "self",
                C,
                "r-rep",
                Seat.RESIDENT_REPRESENTATIVE,
                "",
                *TERM,
            ),
            uow,
        )
    seated = seat(uow, "r-rep", Seat.RESIDENT_REPRESENTATIVE)
    assert seat(uow, "r-rep", Seat.RESIDENT_REPRESENTATIVE).id == seated.id  # a retry
    assert [m.resident_id for m in council.list_members(SYSTEM, C, 0, 50, uow)[0]] == ["r-rep"]
    with pytest.raises(NotFound):
        council.list_members(fakes.person("c-west", "r-x"), C, 0, 50, uow)


def test_a_meeting_without_quorum_cannot_decide(uow, seated, households) -> None:
    meeting = schedule(uow, seated["bob"].id)
    attend(uow, meeting, "r-chair", "r-rep")  # no third party
    vote(uow, households, meeting, seated["bob"], "r-chair")
    vote(uow, households, meeting, seated["bob"], "r-rep")

    with pytest.raises(FailedPrecondition, match="no quorum: 0 of 1 third party present"):
        decide(uow, households, meeting, seated["bob"])
    assert appeals.get_appeal(SYSTEM, C, seated["bob"].id, uow).status == "filed"
    assert len(uow.ledger.transactions) == 2  # the two awards, no compensation


def test_a_member_cannot_vote_on_their_own_or_their_households_appeal(
    uow, seated, households
) -> None:
    register(uow, "r-bob")
    seat(uow, "r-bob", Seat.RESIDENT_REPRESENTATIVE)
    meeting = schedule(uow, seated["alice"].id, seated["bob"].id)
    attend(uow, meeting, "r-chair", "r-ivan", "r-bob", "r-ngo")

    with pytest.raises(PermissionDenied, match="their own appeal"):
        vote(uow, households, meeting, seated["bob"], "r-bob")
    with pytest.raises(PermissionDenied, match="relative in their household"):
        vote(uow, households, meeting, seated["alice"], "r-ivan")
    with pytest.raises(PermissionDenied, match="relative in their household"):
        decide(uow, households, meeting, seated["alice"], recorder="r-ivan")
    with pytest.raises(PermissionDenied, match="present"):
        vote(uow, households, meeting, seated["alice"], "r-rep")  # not present
    vote(uow, households, meeting, seated["alice"], "r-bob")
    with pytest.raises(AlreadyExists):
        council.cast_vote(
            council.CastVote(
                fakes.person(C, "r-bob"), "again", C, meeting.id, seated["alice"].id,
                VoteChoice.REJECT, 0,
            ),
            uow,
            households,
            DEFAULT_CATALOG,
            at(MEETING),
        )  # fmt: skip


def test_an_upholding_vote_names_a_compensation_within_the_appeals_ceiling(
    uow, seated, households
) -> None:
    meeting = schedule(uow, seated["alice"].id)
    attend(uow, meeting, "r-chair", "r-rep", "r-ngo")

    # alice's 2 h award paid 200; its rule pays at most 2,400 a day: 2,200 more at most.
    with pytest.raises(InvalidArgument, match="exceeds what the appealed decision could have"):
        vote(uow, households, meeting, seated["alice"], "r-chair", amount=2201)
    assert vote(uow, households, meeting, seated["alice"], "r-chair", amount=2200).compensation


def test_a_council_decision_goes_through_the_appeals_one_path(uow, seated, households) -> None:
    meeting = schedule(uow, seated["alice"].id, seated["bob"].id)
    attend(uow, meeting, "r-chair", "r-rep", "r-ngo")
    for voter in ("r-chair", "r-rep"):
        vote(uow, households, meeting, seated["alice"], voter, amount=120)
    vote(uow, households, meeting, seated["bob"], "r-chair", VoteChoice.REJECT)
    with pytest.raises(FailedPrecondition, match="1 of 3 members present have voted"):
        decide(uow, households, meeting, seated["bob"])
    vote(uow, households, meeting, seated["bob"], "r-ngo", VoteChoice.REJECT)

    upheld = decide(uow, households, meeting, seated["alice"])
    rejected = decide(uow, households, meeting, seated["bob"])

    assert (upheld.upheld, upheld.compensation, upheld.consensus) == (True, 120, True)
    assert (rejected.upheld, rejected.consensus) == (False, True)
    alice = appeals.get_appeal(SYSTEM, C, seated["alice"].id, uow)
    compensation = uow.ledger.get(C, alice.compensation_transaction_id)
    assert alice.status == "accepted" and alice.reviewer == "r-chair"
    assert compensation.kind == "compensation" and compensation.rule_id == "p8.appeal"
    assert f"council meeting {meeting.id}" in compensation.reason
    assert appeals.get_appeal(SYSTEM, C, seated["bob"].id, uow).status == "rejected"
    assert decide(uow, households, meeting, seated["alice"]) == upheld  # a retry answers again
    with pytest.raises(FailedPrecondition, match="decided at this meeting"):
        decide(uow, households, meeting, seated["alice"], request_id="another")


def test_a_single_member_decides_alone_only_where_the_community_allows_it(uow, seated) -> None:
    appeals.change_committee(commands.ChangeCommittee("g", C, "r-chair", True, FILED), uow)
    command = commands.DecideAppeal(
        fakes.person(C, "r-chair", Role.COMMITTEE_MEMBER), "d1", C, seated["bob"].id, True, "ok", 50
    )
    council_only = CouncilRule(single_member_appeals=False)
    with pytest.raises(FailedPrecondition, match="at council meetings only"):
        appeals.decide_appeal(command, uow, council_rules=lambda community_id: council_only)
    assert appeals.decide_appeal(command, uow).status == "accepted"


def test_adopting_the_audit_records_its_integrity_and_publishes_the_event(
    uow, seated, households
) -> None:
    meeting = schedule(uow, audits=((2026, 1),))
    attend(uow, meeting, "r-chair", "r-rep", "r-ngo")

    def adopt(request_id: str, year: int = 2026, quarter: int = 1):
        return council.adopt_audit(
            council.AdoptAudit(fakes.person(C, "r-ngo"), request_id, C, meeting.id, year, quarter),
            uow,
            lambda community_id: RULE,
            at(MEETING),
        )

    adoption = adopt("adopt")

    assert adoption.integrity_ok and adoption.transactions_checked == 2
    assert len(adoption.report_sha256) == 64 and adoption.meeting_id == meeting.id
    (event,) = [e for e in uow.published if isinstance(e, rules.AuditAdopted)]
    assert (event.year, event.quarter, event.integrity_ok) == (2026, 1, True)
    assert adopt("adopt") == adoption
    with pytest.raises(AlreadyExists):
        adopt("again")
    with pytest.raises(InvalidArgument, match="has not ended"):
        adopt("early", 2026, 2)


def test_an_agenda_holds_filed_appeals_and_ended_quarters(uow, seated) -> None:
    with pytest.raises(InvalidArgument, match="has an agenda"):
        schedule(uow, audits=())
    with pytest.raises(InvalidArgument, match="has not ended"):
        schedule(uow, audits=((2026, 2),))
    with pytest.raises(NotFound):
        schedule(uow, "a-nothing")


def test_the_public_record_counts_without_names_and_shows_overdue_audits(
    uow, seated, households
) -> None:
    meeting = schedule(uow, seated["alice"].id)
    attend(uow, meeting, "r-chair", "r-rep", "r-ngo")
    for voter in ("r-chair", "r-rep"):
        vote(uow, households, meeting, seated["alice"], voter, amount=100)
    decide(uow, households, meeting, seated["alice"])
    later = MEETING + timedelta(days=30)  # Q1 is past its grace without an adopted audit

    q1, q2, *_ = council.get_public_record(
        fakes.person(C, "r-anyone"), C, 2026, uow, lambda community_id: RULE, at(later)
    )

    assert (q1.filed, q1.upheld, q1.rejected, q1.open, q1.by_council) == (2, 1, 0, 1, 1)
    assert (q1.median_days, q1.max_days, q1.compensation) == (49, 49, 100)
    assert q1.overdue and q1.adoption is None and not q2.overdue  # Q2 has not ended
    assert council.overdue_audits(uow, lambda community_id: RULE, later) == {C: 1}
    assert council.overdue_audits(uow, lambda community_id: RULE, MEETING) == {C: 0}


# --- through the whole app -----------------------------------------------------------------

SERVICE = council_pb.DESCRIPTOR.services_by_name["CouncilService"]


def council_as(app, resident: str, *roles: str) -> council_grpc.CouncilServiceStub:
    """The app's CouncilService called by a signed-in person."""
    metadata = app.credentials.person(C, resident, *roles)
    return council_grpc.CouncilServiceStub(app._channel(app._gateway(), metadata))


def test_every_council_rpc_has_a_policy_entry_and_every_mutation_a_request_id() -> None:
    methods = [m.name for m in SERVICE.methods]

    assert missing_entries(POLICY, methods) == [] and sorted(POLICY) == sorted(methods)
    for method in mutating_methods(SERVICE):
        assert "request_id" in method.input_type.fields_by_name, method.name


async def test_the_app_serves_the_council_to_its_callers_only(points_app) -> None:
    register(points_app.uow, "r-rep")
    parent = f"communities/{C}"
    member = council_pb.CouncilMember(
        resident=f"{parent}/residents/r-rep",
        seat=council_pb.SEAT_RESIDENT_REPRESENTATIVE,
        term_start_date="2026-01-01",
        term_end_date="2026-12-31",
    )
    seat_request = council_pb.SeatMemberRequest(parent=parent, member=member, request_id="s1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await council_as(points_app, "r-rep", Role.RESIDENT).SeatMember(seat_request)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    staff = council_as(points_app, "r-staff", Role.SOCIAL_WORKER)
    seated = (await staff.SeatMember(seat_request)).member
    assert seated.seat == council_pb.SEAT_RESIDENT_REPRESENTATIVE and seated.name.startswith(
        f"{parent}/councilMembers/"
    )
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await staff.SeatMember(
            council_pb.SeatMemberRequest(parent=parent, member=member, request_id="s2")
        )
    assert bad.value.code() == grpc.StatusCode.ALREADY_EXISTS
    record = await council_as(points_app, "r-anyone", Role.RESIDENT).GetPublicRecord(
        council_pb.GetPublicRecordRequest(parent=parent, year=2026)
    )
    assert [q.quarter.quarter for q in record.quarters] == [1, 2, 3, 4]
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await council_grpc.CouncilServiceStub(
            points_app._channel(points_app._gateway())
        ).ListMembers(council_pb.ListMembersRequest(parent=parent))
    # The gateway's certificate without a person's token is no person of the community.
    assert anonymous.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_pages_of_council_members_cover_them_once_in_order(points_app) -> None:
    residents = ["r-3", "r-1", "r-4", "r-2", "r-0"]
    for resident in residents:
        register(points_app.uow, resident)
        seat(points_app.uow, resident, Seat.RESIDENT_REPRESENTATIVE)
    anyone = council_as(points_app, "r-anyone", Role.RESIDENT)
    parent = f"communities/{C}"

    paged, token = [], ""
    for _ in range(4):
        page = await anyone.ListMembers(
            council_pb.ListMembersRequest(parent=parent, page_size=2, page_token=token)
        )
        paged.append([m.resident.rpartition("/")[2] for m in page.members])
        token = page.next_page_token
        if not token:
            break

    whole = council.list_members(SYSTEM, C, 0, 50, points_app.uow)[0]
    assert paged == [[m.resident_id for m in whole][i : i + 2] for i in (0, 2, 4)]
    assert sorted(r for page in paged for r in page) == sorted(residents)
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await anyone.ListMembers(council_pb.ListMembersRequest(parent=parent, page_token="x!"))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _overdue_rule() -> tuple[str, int]:
    """The chart's LinliCouncilAuditOverdue: the metric it reads and the threshold it fires at."""
    alerts = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    (rule,) = [r for g in alerts["groups"] for r in g["rules"] if r.get("alert") == ALERT]
    expr = rule["expr"].replace("${NAMESPACE}", "linli-c-east")  # as the chart renders it
    found = re.fullmatch(
        r"\s*max by \(namespace, community_id\) \((\w+)\{[^}]*\}\)\s*>\s*(\d+)\s*", expr
    )
    assert found, rule["expr"]
    return found.group(1), int(found.group(2))


def test_an_overdue_quarter_raises_the_charts_alert_until_its_audit_is_adopted(
    uow, seated, households
) -> None:
    metric, threshold = _overdue_rule()
    later = MEETING + timedelta(days=30)  # Q1 ended more than 30 days ago

    def exported() -> float:
        value = REGISTRY.get_sample_value(metric, {"community_id": C})
        assert value is not None, f"{metric} was not set for {C}"
        return value

    council_api.count_overdue_audits(uow, lambda community_id: RULE, later)
    assert exported() > threshold  # the alert fires

    meeting = schedule(uow, audits=((2026, 1),))
    attend(uow, meeting, "r-chair", "r-rep", "r-ngo")
    council.adopt_audit(
        council.AdoptAudit(fakes.person(C, "r-chair"), "adopt", C, meeting.id, 2026, 1),
        uow,
        lambda community_id: RULE,
        at(MEETING),
    )
    council_api.count_overdue_audits(uow, lambda community_id: RULE, later)
    assert exported() <= threshold  # adopted: the alert clears
