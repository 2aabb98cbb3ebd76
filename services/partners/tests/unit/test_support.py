"""Funds and grants (O5, E5) on SQLite: the fund's workflow rules, grants, legal aid, access."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from linli_kit.principals import Kind, Principal, Role
from linli_kit.testing import load_beside
from linli_partners.domain.fund import ProposalState
from linli_partners.domain.support import CaseState
from linli_partners.service_layer import commands, fund, support

fakes = load_beside(__file__, "fakes.py", "linli_partners_unit_fakes")
C = fakes.C
STAFF = fakes.STAFF
ALICE, BOB = fakes.person("r-alice"), fakes.person("r-bob")
MEMBER = Principal(
    Kind.PERSON, f"communities/{C}/residents/r-carol", C, frozenset({Role.COMMITTEE_MEMBER})
)
STRANGER = fakes.person("r-x", community="c-west")
# The clock (2026-06-01) is inside the call's days; AFTER is past its close.
AFTER = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)


def _call(uow_factory, budget_fen: int = 800_000, **extra):
    command = commands.CreateFundCall(
        community_id=C,
        title="2026 社区创新基金",
        year=2026,
        opens_on=date(2026, 5, 1),
        closes_on=date(2026, 6, 30),
        budget_fen=budget_fen,
        actor=STAFF,
        **extra,
    )
    return fund.create_fund_call(command, uow_factory())[0]


def _propose(uow_factory, clock, call_id: str, who=ALICE, fen: int = 300_000, **extra):
    command = commands.SubmitProposal(
        community_id=C,
        call_id=call_id,
        resident_id=who.resident_id,
        title="楼道花园",
        summary="把楼道变成花园",
        requested_fen=fen,
        actor=who,
        **extra,
    )
    return fund.submit_proposal(command, uow_factory(), clock)


def _score(uow_factory, clock, proposal, who, value: int = 80, **extra):
    command = commands.ScoreProposal(
        community_id=C,
        call_id=proposal.call_id,
        proposal_id=proposal.id,
        score=value,
        actor=who,
        **extra,
    )
    return fund.score_proposal(command, uow_factory(), clock)


def _award(uow_factory, clock, proposal, fen: int, who=STAFF, **extra):
    command = commands.AwardProposal(
        community_id=C,
        call_id=proposal.call_id,
        proposal_id=proposal.id,
        amount_fen=fen,
        actor=who,
        **extra,
    )
    return fund.award_proposal(command, uow_factory(), clock)


def test_a_call_per_year_with_the_default_award_range(uow_factory):
    made = _call(uow_factory)
    assert (made.min_award_fen, made.max_award_fen) == (200_000, 500_000)
    with pytest.raises(AlreadyExists):
        _call(uow_factory)
    with pytest.raises(InvalidArgument):
        _call(uow_factory, budget_fen=100)  # less than the smallest award
    with pytest.raises(PermissionDenied):
        fund.create_fund_call(
            commands.CreateFundCall(
                community_id=C,
                title="x",
                year=2027,
                opens_on=date(2027, 1, 1),
                closes_on=date(2027, 2, 1),
                budget_fen=800_000,
                actor=ALICE,
            ),
            uow_factory(),
        )
    with pytest.raises(NotFound):
        fund.get_fund_call(STRANGER, C, made.id, uow_factory())


def test_a_resident_submits_their_own_proposal_within_the_range_while_the_call_is_open(
    uow_factory, clock
):
    call = _call(uow_factory)
    submitted = _propose(uow_factory, clock, call.id, request_id="p1")
    assert submitted.proposer_id == "r-alice" and submitted.state is ProposalState.SUBMITTED
    assert _propose(uow_factory, clock, call.id, request_id="p1").id == submitted.id  # a retry
    for fen in (199_999, 500_001):
        with pytest.raises(InvalidArgument, match="200000 to 500000"):
            _propose(uow_factory, clock, call.id, fen=fen)
    with pytest.raises(PermissionDenied):  # staff cannot submit one for alice
        fund.submit_proposal(
            commands.SubmitProposal(
                community_id=C,
                call_id=call.id,
                resident_id="r-alice",
                title="t",
                summary="s",
                requested_fen=300_000,
                actor=STAFF,
            ),
            uow_factory(),
            clock,
        )
    clock.now = AFTER
    with pytest.raises(FailedPrecondition, match="takes proposals"):
        _propose(uow_factory, clock, call.id)
    with pytest.raises(PermissionDenied):  # another resident does not read it
        fund.get_proposal(BOB, C, call.id, submitted.id, uow_factory())
    assert fund.get_proposal(ALICE, C, call.id, submitted.id, uow_factory()).id == submitted.id


def test_panel_members_score_once_each_and_never_their_own(uow_factory, clock):
    call = _call(uow_factory)
    alices = _propose(uow_factory, clock, call.id)
    staff_member = fakes.person("r-staff")
    staffs = _propose(uow_factory, clock, call.id, who=staff_member)

    _score(uow_factory, clock, alices, STAFF, 90, request_id="s1")
    _score(uow_factory, clock, alices, MEMBER, 70)
    assert _score(uow_factory, clock, alices, STAFF, 90, request_id="s1").score == 90  # a retry
    with pytest.raises(AlreadyExists):
        _score(uow_factory, clock, alices, STAFF, 10)
    with pytest.raises(PermissionDenied, match="their own"):
        _score(uow_factory, clock, staffs, STAFF)
    with pytest.raises(PermissionDenied):  # a resident is not on the panel
        _score(uow_factory, clock, staffs, BOB)
    with pytest.raises(InvalidArgument):
        _score(uow_factory, clock, staffs, MEMBER, 101)

    tallied = fund.get_proposal(MEMBER, C, call.id, alices.id, uow_factory())
    assert (tallied.score_count, tallied.mean_score) == (2, 80.0)
    scores, more = fund.list_scores(MEMBER, C, call.id, alices.id, 0, 10, uow_factory())
    assert sorted(s.member_id for s in scores) == ["r-carol", "r-staff"] and not more


def test_awards_come_after_the_close_within_the_range_and_the_budget(uow_factory, clock):
    call = _call(uow_factory, budget_fen=800_000)
    first = _propose(uow_factory, clock, call.id)
    second = _propose(uow_factory, clock, call.id, who=BOB)
    with pytest.raises(FailedPrecondition, match="award after it"):
        _award(uow_factory, clock, first, 300_000)

    clock.now = AFTER
    with pytest.raises(InvalidArgument):
        _award(uow_factory, clock, first, 600_000)
    awarded = _award(uow_factory, clock, first, 500_000, request_id="a1")
    assert (awarded.state, awarded.awarded_fen, awarded.awarded_by) == (
        ProposalState.AWARDED,
        500_000,
        "r-staff",
    )
    assert _award(uow_factory, clock, first, 500_000, request_id="a1").id == first.id
    with pytest.raises(FailedPrecondition, match="awarded already"):
        _award(uow_factory, clock, first, 200_000)
    with pytest.raises(FailedPrecondition, match="300000 fen of its budget left"):
        _award(uow_factory, clock, second, 400_000)
    _award(uow_factory, clock, second, 300_000)
    assert fund.get_fund_call(ALICE, C, call.id, uow_factory())[1] == 800_000
    with pytest.raises(FailedPrecondition, match="scoring is over"):
        _score(uow_factory, clock, first, MEMBER)


def test_no_one_awards_their_own_proposal(uow_factory, clock):
    call = _call(uow_factory)
    staffs = _propose(uow_factory, clock, call.id, who=fakes.person("r-staff"))
    clock.now = AFTER
    with pytest.raises(PermissionDenied):
        _award(uow_factory, clock, staffs, 300_000)


def test_milestones_follow_an_award(uow_factory, clock):
    call = _call(uow_factory)
    proposal = _propose(uow_factory, clock, call.id)

    def record(who, on: date = date(2026, 9, 1)):
        command = commands.RecordMilestone(
            community_id=C,
            call_id=call.id,
            proposal_id=proposal.id,
            on=on,
            title="启动",
            note="首次活动",
            actor=who,
        )
        return fund.record_milestone(command, uow_factory())

    with pytest.raises(FailedPrecondition, match="awarded proposals only"):
        record(STAFF)
    clock.now = AFTER
    _award(uow_factory, clock, proposal, 300_000)
    record(ALICE, date(2026, 10, 1))
    record(STAFF)
    with pytest.raises(PermissionDenied):
        record(BOB)
    listed, _ = fund.list_milestones(ALICE, C, call.id, proposal.id, 0, 10, uow_factory())
    assert [(m.on, m.recorded_by) for m in listed] == [
        (date(2026, 9, 1), "r-staff"),
        (date(2026, 10, 1), "r-alice"),
    ]


def test_the_agency_and_its_supervision_visits(uow_factory):
    agency = support.create_agency(
        commands.CreateAgency(
            community_id=C,
            display_name="阳光社工事务所",
            grade="5A",
            contract_starts_on=date(2026, 1, 1),
            contract_ends_on=date(2026, 12, 31),
            actor=STAFF,
        ),
        uow_factory(),
    )
    for day in (3, 17):
        support.record_visit(
            commands.RecordSupervisionVisit(
                community_id=C,
                agency_id=agency.id,
                on=date(2026, 3, day),
                supervisor="王督导",
                topics=("个案管理", "志愿者激励"),
                notes="良好",
                actor=STAFF,
            ),
            uow_factory(),
        )
    visits, _ = support.list_visits(STAFF, C, agency.id, 0, 10, uow_factory())
    assert [v.on.day for v in visits] == [17, 3] and visits[0].topics == ("个案管理", "志愿者激励")
    assert [a.grade for a in support.list_agencies(ALICE, C, 0, 10, uow_factory())[0]] == ["5A"]
    with pytest.raises(PermissionDenied):
        support.list_visits(ALICE, C, agency.id, 0, 10, uow_factory())


def test_a_grant_records_outcomes_then_a_publication_decision_once(uow_factory, clock):
    made = support.create_grant(
        commands.CreateResearchGrant(
            community_id=C,
            foundation="爱心基金会",
            topic="志愿服务与社区信任",
            amount_fen=5_000_000,
            volunteer_ids=("r-alice", "r-bob"),
            granted_on=date(2026, 3, 1),
            actor=STAFF,
        ),
        uow_factory(),
    )

    def decide(who, recommend: bool = True):
        command = commands.RecommendPublication(
            community_id=C, grant_id=made.id, recommend=recommend, actor=who
        )
        return support.recommend_publication(command, uow_factory(), clock)

    with pytest.raises(FailedPrecondition, match="outcomes first"):
        decide(MEMBER)
    support.record_outcome(
        commands.RecordGrantOutcome(
            community_id=C, grant_id=made.id, outcomes="调查报告一份", actor=STAFF
        ),
        uow_factory(),
    )
    with pytest.raises(PermissionDenied):
        decide(ALICE)
    decided = decide(MEMBER)
    assert (decided.recommend_publication, decided.decided_by) == (True, "r-carol")
    with pytest.raises(FailedPrecondition, match="decided already"):
        decide(STAFF, False)
    grants, _ = support.list_grants(MEMBER, C, 0, 10, uow_factory())
    assert grants[0].volunteer_ids == ("r-alice", "r-bob")


def test_a_legal_case_is_opened_assigned_and_resolved_each_step_recorded(uow_factory, clock):
    slot = support.create_slot(
        commands.CreateRotaSlot(
            community_id=C, firm="正义律师事务所", weekday=3, start_hour=9, end_hour=12, actor=STAFF
        ),
        uow_factory(),
    )
    opened = support.open_case(
        commands.OpenLegalCase(
            community_id=C,
            resident_id="r-alice",
            summary="服务中受伤的赔偿纠纷",
            note="来访登记",
            request_id="o1",
            actor=STAFF,
        ),
        uow_factory(),
        clock,
    )
    assert opened.state is CaseState.OPENED

    def finish(state: CaseState):
        command = commands.FinishLegalCase(
            community_id=C, case_id=opened.id, state=state, note="调解成功", actor=STAFF
        )
        return support.finish_case(command, uow_factory(), clock)

    with pytest.raises(FailedPrecondition):  # resolved only once assigned
        finish(CaseState.RESOLVED)
    with pytest.raises(NotFound):
        support.assign_case(
            commands.AssignLegalCase(
                community_id=C, case_id=opened.id, slot_id="s-none", actor=STAFF
            ),
            uow_factory(),
            clock,
        )
    assigned = support.assign_case(
        commands.AssignLegalCase(community_id=C, case_id=opened.id, slot_id=slot.id, actor=STAFF),
        uow_factory(),
        clock,
    )
    assert (assigned.state, assigned.firm) == (CaseState.ASSIGNED, "正义律师事务所")
    finish(CaseState.RESOLVED)
    with pytest.raises(FailedPrecondition):
        finish(CaseState.CLOSED)

    seen = support.get_case(ALICE, C, opened.id, uow_factory())
    assert [(s.state, s.actor) for s in seen.steps] == [
        (CaseState.OPENED, "r-staff"),
        (CaseState.ASSIGNED, "r-staff"),
        (CaseState.RESOLVED, "r-staff"),
    ]
    with pytest.raises(PermissionDenied):
        support.get_case(BOB, C, opened.id, uow_factory())
    with pytest.raises(NotFound):
        support.get_case(STRANGER, C, opened.id, uow_factory())
    mine, _ = support.list_cases(ALICE, C, "r-alice", 0, 10, uow_factory())
    assert [c.id for c in mine] == [opened.id]
    with pytest.raises(PermissionDenied):
        support.list_cases(ALICE, C, "", 0, 10, uow_factory())
    with pytest.raises(PermissionDenied):
        support.list_cases(BOB, C, "r-alice", 0, 10, uow_factory())


def test_a_case_can_be_closed_unassigned(uow_factory, clock):
    opened = support.open_case(
        commands.OpenLegalCase(community_id=C, resident_id="r-bob", summary="纠纷", actor=STAFF),
        uow_factory(),
        clock,
    )
    closed = support.finish_case(
        commands.FinishLegalCase(
            community_id=C, case_id=opened.id, state=CaseState.CLOSED, note="撤回", actor=STAFF
        ),
        uow_factory(),
        clock,
    )
    assert closed.state is CaseState.CLOSED and closed.steps[-1].note == "撤回"
