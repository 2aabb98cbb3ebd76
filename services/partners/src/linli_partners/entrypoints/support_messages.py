"""Protobuf messages of the funds and grants API (SupportService) from domain objects."""

from __future__ import annotations

from linli.partners.v1 import support_service_pb2 as pb

from linli_kit.errors import InvalidArgument
from linli_kit.wire import timestamp
from linli_partners.domain.fund import FundCall, Milestone, Proposal, ProposalState, Score
from linli_partners.domain.names import (
    AGENCY,
    FUND_CALL,
    LEGAL_CASE,
    MILESTONE,
    PROPOSAL,
    RESEARCH_GRANT,
    RESIDENT,
    ROTA_SLOT,
    VISIT,
)
from linli_partners.domain.support import (
    Agency,
    CaseState,
    LegalCase,
    ResearchGrant,
    RotaSlot,
    SupervisionVisit,
)

PROPOSAL_STATES = {s: pb.ProposalState.Value(f"PROPOSAL_STATE_{s.name}") for s in ProposalState}
CASE_STATES = {s: pb.LegalCaseState.Value(f"LEGAL_CASE_STATE_{s.name}") for s in CaseState}
STATES_OF_CODES = {code: state for state, code in CASE_STATES.items()}


def resident_name(community_id: str, resident_id: str) -> str:
    """A resident's resource name ('' for none, such as the system)."""
    return RESIDENT.format(community=community_id, resident=resident_id) if resident_id else ""


def case_state(code: int) -> CaseState:
    """The case state of an API code, or InvalidArgument."""
    if code not in STATES_OF_CODES:
        raise InvalidArgument("state must be one of LEGAL_CASE_STATE_OPENED … _CLOSED")
    return STATES_OF_CODES[code]


def call_message(call: FundCall, awarded_fen: int) -> pb.FundCall:
    """The API's view of a call and what it has awarded."""
    return pb.FundCall(
        name=FUND_CALL.format(community=call.community_id, call=call.id),
        title=call.title,
        year=call.year,
        open_date=call.opens_on.isoformat(),
        close_date=call.closes_on.isoformat(),
        budget_fen=call.budget_fen,
        min_award_fen=call.min_award_fen,
        max_award_fen=call.max_award_fen,
        awarded_fen=awarded_fen,
    )


def proposal_name(community_id: str, call_id: str, proposal_id: str) -> str:
    """A proposal's resource name."""
    return PROPOSAL.format(community=community_id, call=call_id, proposal=proposal_id)


def proposal_message(proposal: Proposal) -> pb.Proposal:
    """The API's view of a proposal, with its panel's tally."""
    c = proposal.community_id
    return pb.Proposal(
        name=proposal_name(c, proposal.call_id, proposal.id),
        title=proposal.title,
        summary=proposal.summary,
        requested_fen=proposal.requested_fen,
        proposer=resident_name(c, proposal.proposer_id),
        state=PROPOSAL_STATES[proposal.state],
        submit_time=timestamp(proposal.submitted_at),
        awarded_fen=proposal.awarded_fen or 0,
        awarded_by=resident_name(c, proposal.awarded_by),
        award_time=timestamp(proposal.awarded_at),
        score_count=proposal.score_count,
        mean_score=proposal.mean_score,
    )


def score_message(score: Score) -> pb.ProposalScore:
    """The API's view of a panel member's score."""
    return pb.ProposalScore(
        proposal=proposal_name(score.community_id, score.call_id, score.proposal_id),
        panel_member=resident_name(score.community_id, score.member_id),
        score=score.score,
        comment=score.comment,
        score_time=timestamp(score.scored_at),
    )


def milestone_message(milestone: Milestone) -> pb.Milestone:
    """The API's view of an incubation milestone."""
    return pb.Milestone(
        name=MILESTONE.format(
            community=milestone.community_id,
            call=milestone.call_id,
            proposal=milestone.proposal_id,
            milestone=milestone.id,
        ),
        milestone_date=milestone.on.isoformat(),
        title=milestone.title,
        note=milestone.note,
        recorded_by=resident_name(milestone.community_id, milestone.recorded_by),
    )


def agency_message(agency: Agency) -> pb.Agency:
    """The API's view of an agency."""
    return pb.Agency(
        name=AGENCY.format(community=agency.community_id, agency=agency.id),
        display_name=agency.display_name,
        grade=agency.grade,
        contract_start_date=agency.contract_starts_on.isoformat(),
        contract_end_date=agency.contract_ends_on.isoformat(),
    )


def visit_message(visit: SupervisionVisit) -> pb.SupervisionVisit:
    """The API's view of a supervision visit."""
    return pb.SupervisionVisit(
        name=VISIT.format(community=visit.community_id, agency=visit.agency_id, visit=visit.id),
        visit_date=visit.on.isoformat(),
        supervisor=visit.supervisor,
        topics=list(visit.topics),
        notes=visit.notes,
        recorded_by=resident_name(visit.community_id, visit.recorded_by),
    )


def grant_message(grant: ResearchGrant) -> pb.ResearchGrant:
    """The API's view of a research grant."""
    c = grant.community_id
    return pb.ResearchGrant(
        name=RESEARCH_GRANT.format(community=c, grant=grant.id),
        foundation=grant.foundation,
        topic=grant.topic,
        amount_fen=grant.amount_fen,
        volunteers=[resident_name(c, v) for v in grant.volunteer_ids],
        grant_date=grant.granted_on.isoformat(),
        outcomes=grant.outcomes,
        publication_decided=grant.recommend_publication is not None,
        recommend_publication=bool(grant.recommend_publication),
        decided_by=resident_name(c, grant.decided_by),
        decide_time=timestamp(grant.decided_at),
    )


def slot_name(community_id: str, slot_id: str) -> str:
    """A rota slot's resource name ('' for none)."""
    return ROTA_SLOT.format(community=community_id, slot=slot_id) if slot_id else ""


def slot_message(slot: RotaSlot) -> pb.RotaSlot:
    """The API's view of a rota slot."""
    return pb.RotaSlot(
        name=slot_name(slot.community_id, slot.id),
        firm=slot.firm,
        weekday=slot.weekday,
        start_hour=slot.start_hour,
        end_hour=slot.end_hour,
    )


def case_message(case: LegalCase) -> pb.LegalCase:
    """The API's view of a case and its steps."""
    c = case.community_id
    return pb.LegalCase(
        name=LEGAL_CASE.format(community=c, case=case.id),
        resident=resident_name(c, case.resident_id),
        summary=case.summary,
        state=CASE_STATES[case.state],
        rota_slot=slot_name(c, case.slot_id),
        firm=case.firm,
        steps=[
            pb.LegalCaseStep(
                state=CASE_STATES[step.state],
                actor=resident_name(c, step.actor),
                step_time=timestamp(step.at),
                note=step.note,
            )
            for step in case.steps
        ],
    )
