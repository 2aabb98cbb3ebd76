"""The SupportService servicer (O5, E5): map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the use cases apply `domain.access` to the
caller passed as the command's actor. Served by the partners process beside PartnersService,
on the same units of work and database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from linli.partners.v1 import support_service_pb2 as pb
from linli.partners.v1 import support_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import STAFF_ROLES, Role, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_kit.servicers import UseCaseServicer
from linli_partners.domain.names import (
    AGENCY,
    COMMUNITY,
    FUND_CALL,
    LEGAL_CASE,
    PROPOSAL,
    RESEARCH_GRANT,
    RESIDENT,
    ROTA_SLOT,
)
from linli_partners.domain.partners import parse_date
from linli_partners.entrypoints.support_messages import (
    agency_message,
    call_message,
    case_message,
    case_state,
    grant_message,
    milestone_message,
    proposal_message,
    score_message,
    slot_message,
    visit_message,
)
from linli_partners.service_layer import commands, fund, support
from linli_partners.service_layer.ports import PartnersUnitOfWork

Context: TypeAlias = grpc.aio.ServicerContext

STAFF = auth.persons(*STAFF_ROLES)
# The fund's panel, and who reads research grants: staff and the supervision committee.
PANEL = auth.persons(*STAFF_ROLES, Role.COMMITTEE_MEMBER)
POLICY: auth.Policy = {
    "CreateFundCall": STAFF,
    "GetFundCall": auth.persons(),
    "ListFundCalls": auth.persons(),
    # The resident for themself only.
    "SubmitProposal": auth.persons(),
    # Its proposer, or the panel.
    "GetProposal": auth.persons(),
    "ListProposals": PANEL,
    "ScoreProposal": PANEL,
    "ListProposalScores": PANEL,
    "AwardProposal": STAFF,
    # Staff, or the proposer of the awarded proposal.
    "RecordMilestone": auth.persons(),
    "ListMilestones": auth.persons(),
    "CreateAgency": STAFF,
    "ListAgencies": auth.persons(),
    "RecordSupervisionVisit": STAFF,
    "ListSupervisionVisits": STAFF,
    "CreateResearchGrant": STAFF,
    "ListResearchGrants": PANEL,
    "RecordGrantOutcome": STAFF,
    "RecommendPublication": PANEL,
    "CreateRotaSlot": STAFF,
    "ListRotaSlots": auth.persons(),
    "OpenLegalCase": STAFF,
    "AssignLegalCase": STAFF,
    "FinishLegalCase": STAFF,
    # The resident themself, or staff.
    "GetLegalCase": auth.persons(),
    "ListLegalCases": auth.persons(),
}
# Per caller. A resident submits a proposal now and then.
LIMITS: Limits = {
    "SubmitProposal": per_minute(10, burst=5),
}


def _page(request: Any) -> tuple[int, int]:
    return decode_page_token(request.page_token), page_size(request.page_size)


def _community(name: str, field: str = "parent") -> str:
    return COMMUNITY.parse(name, field)["community"]


def _call(name: str, field: str = "name") -> tuple[str, str]:
    ids = FUND_CALL.parse(name, field)
    return ids["community"], ids["call"]


def _proposal(name: str, field: str = "name") -> tuple[str, str, str]:
    ids = PROPOSAL.parse(name, field)
    return ids["community"], ids["call"], ids["proposal"]


def _resident_in(community_id: str, name: str, field: str) -> str:
    """The id of a resident of the community named in a field, or InvalidArgument."""
    ids = RESIDENT.parse(name, field)
    if ids["community"] != community_id:
        raise InvalidArgument(f"{field} must be a resident of {community_id}")
    return ids["resident"]


class SupportServicer(UseCaseServicer, pb_grpc.SupportServiceServicer):
    """The innovation fund, the agency, research grants and legal aid over gRPC."""

    def __init__(
        self, uow_factory: Callable[[], PartnersUnitOfWork], clock: Clock = utc_now
    ) -> None:
        self.uow_factory, self.clock = uow_factory, clock

    async def CreateFundCall(
        self, request: pb.CreateFundCallRequest, context: Context
    ) -> pb.CreateFundCallResponse:
        """Open the community's call of a year."""
        given = request.call
        command = commands.CreateFundCall(
            community_id=_community(request.parent),
            title=given.title,
            year=given.year,
            opens_on=parse_date(given.open_date, "call.open_date"),
            closes_on=parse_date(given.close_date, "call.close_date"),
            budget_fen=given.budget_fen,
            min_award_fen=given.min_award_fen,
            max_award_fen=given.max_award_fen,
            request_id=request.request_id,
            actor=current_principal(),
        )
        opened, awarded = await self._run(fund.create_fund_call, command)
        return pb.CreateFundCallResponse(call=call_message(opened, awarded))

    async def GetFundCall(
        self, request: pb.GetFundCallRequest, context: Context
    ) -> pb.GetFundCallResponse:
        """A call and what it has awarded."""
        found, awarded = await self._query(fund.get_fund_call, *_call(request.name))
        return pb.GetFundCallResponse(call=call_message(found, awarded))

    async def ListFundCalls(
        self, request: pb.ListFundCallsRequest, context: Context
    ) -> pb.ListFundCallsResponse:
        """A page of the community's calls, newest year first."""
        offset, limit = _page(request)
        found, more = await self._query(
            fund.list_fund_calls, _community(request.parent), offset, limit
        )
        return pb.ListFundCallsResponse(
            calls=[call_message(c, awarded) for c, awarded in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def SubmitProposal(
        self, request: pb.SubmitProposalRequest, context: Context
    ) -> pb.SubmitProposalResponse:
        """A resident submits their own proposal."""
        community, call_id = _call(request.parent, "parent")
        actor = current_principal()
        given = request.proposal
        command = commands.SubmitProposal(
            community_id=community,
            call_id=call_id,
            resident_id=actor.resident_id,
            title=given.title,
            summary=given.summary,
            requested_fen=given.requested_fen,
            request_id=request.request_id,
            actor=actor,
        )
        submitted = await self._run(fund.submit_proposal, command, clock=self.clock)
        return pb.SubmitProposalResponse(proposal=proposal_message(submitted))

    async def GetProposal(
        self, request: pb.GetProposalRequest, context: Context
    ) -> pb.GetProposalResponse:
        """A proposal with its panel's tally."""
        found = await self._query(fund.get_proposal, *_proposal(request.name))
        return pb.GetProposalResponse(proposal=proposal_message(found))

    async def ListProposals(
        self, request: pb.ListProposalsRequest, context: Context
    ) -> pb.ListProposalsResponse:
        """A page of a call's proposals, oldest first."""
        offset, limit = _page(request)
        found, more = await self._query(
            fund.list_proposals, *_call(request.parent, "parent"), offset, limit
        )
        return pb.ListProposalsResponse(
            proposals=[proposal_message(p) for p in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ScoreProposal(
        self, request: pb.ScoreProposalRequest, context: Context
    ) -> pb.ScoreProposalResponse:
        """A panel member scores a proposal, once."""
        community, call_id, proposal_id = _proposal(request.name)
        command = commands.ScoreProposal(
            community_id=community,
            call_id=call_id,
            proposal_id=proposal_id,
            score=request.score,
            comment=request.comment,
            request_id=request.request_id,
            actor=current_principal(),
        )
        scored = await self._run(fund.score_proposal, command, clock=self.clock)
        return pb.ScoreProposalResponse(score=score_message(scored))

    async def ListProposalScores(
        self, request: pb.ListProposalScoresRequest, context: Context
    ) -> pb.ListProposalScoresResponse:
        """A page of a proposal's scores."""
        offset, limit = _page(request)
        found, more = await self._query(
            fund.list_scores, *_proposal(request.parent, "parent"), offset, limit
        )
        return pb.ListProposalScoresResponse(
            scores=[score_message(s) for s in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def AwardProposal(
        self, request: pb.AwardProposalRequest, context: Context
    ) -> pb.AwardProposalResponse:
        """Award a proposal after its call closes."""
        community, call_id, proposal_id = _proposal(request.name)
        command = commands.AwardProposal(
            community_id=community,
            call_id=call_id,
            proposal_id=proposal_id,
            amount_fen=request.amount_fen,
            request_id=request.request_id,
            actor=current_principal(),
        )
        awarded = await self._run(fund.award_proposal, command, clock=self.clock)
        return pb.AwardProposalResponse(proposal=proposal_message(awarded))

    async def RecordMilestone(
        self, request: pb.RecordMilestoneRequest, context: Context
    ) -> pb.RecordMilestoneResponse:
        """Record a step of an awarded proposal's incubation."""
        community, call_id, proposal_id = _proposal(request.parent, "parent")
        given = request.milestone
        command = commands.RecordMilestone(
            community_id=community,
            call_id=call_id,
            proposal_id=proposal_id,
            on=parse_date(given.milestone_date, "milestone.milestone_date"),
            title=given.title,
            note=given.note,
            request_id=request.request_id,
            actor=current_principal(),
        )
        recorded = await self._run(fund.record_milestone, command)
        return pb.RecordMilestoneResponse(milestone=milestone_message(recorded))

    async def ListMilestones(
        self, request: pb.ListMilestonesRequest, context: Context
    ) -> pb.ListMilestonesResponse:
        """A page of a proposal's milestones by date."""
        offset, limit = _page(request)
        found, more = await self._query(
            fund.list_milestones, *_proposal(request.parent, "parent"), offset, limit
        )
        return pb.ListMilestonesResponse(
            milestones=[milestone_message(m) for m in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreateAgency(
        self, request: pb.CreateAgencyRequest, context: Context
    ) -> pb.CreateAgencyResponse:
        """Record the resident social-work agency."""
        given = request.agency
        command = commands.CreateAgency(
            community_id=_community(request.parent),
            display_name=given.display_name,
            grade=given.grade,
            contract_starts_on=parse_date(given.contract_start_date, "agency.contract_start_date"),
            contract_ends_on=parse_date(given.contract_end_date, "agency.contract_end_date"),
            request_id=request.request_id,
            actor=current_principal(),
        )
        recorded = await self._run(support.create_agency, command)
        return pb.CreateAgencyResponse(agency=agency_message(recorded))

    async def ListAgencies(
        self, request: pb.ListAgenciesRequest, context: Context
    ) -> pb.ListAgenciesResponse:
        """A page of the community's agencies."""
        offset, limit = _page(request)
        found, more = await self._query(
            support.list_agencies, _community(request.parent), offset, limit
        )
        return pb.ListAgenciesResponse(
            agencies=[agency_message(a) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def RecordSupervisionVisit(
        self, request: pb.RecordSupervisionVisitRequest, context: Context
    ) -> pb.RecordSupervisionVisitResponse:
        """Record a supervision visit of the agency's."""
        ids = AGENCY.parse(request.parent, "parent")
        given = request.visit
        command = commands.RecordSupervisionVisit(
            community_id=ids["community"],
            agency_id=ids["agency"],
            on=parse_date(given.visit_date, "visit.visit_date"),
            supervisor=given.supervisor,
            topics=tuple(given.topics),
            notes=given.notes,
            request_id=request.request_id,
            actor=current_principal(),
        )
        recorded = await self._run(support.record_visit, command)
        return pb.RecordSupervisionVisitResponse(visit=visit_message(recorded))

    async def ListSupervisionVisits(
        self, request: pb.ListSupervisionVisitsRequest, context: Context
    ) -> pb.ListSupervisionVisitsResponse:
        """A page of an agency's visits, newest first."""
        ids = AGENCY.parse(request.parent, "parent")
        offset, limit = _page(request)
        found, more = await self._query(
            support.list_visits, ids["community"], ids["agency"], offset, limit
        )
        return pb.ListSupervisionVisitsResponse(
            visits=[visit_message(v) for v in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreateResearchGrant(
        self, request: pb.CreateResearchGrantRequest, context: Context
    ) -> pb.CreateResearchGrantResponse:
        """Record a research grant with a foundation."""
        community = _community(request.parent)
        given = request.grant
        command = commands.CreateResearchGrant(
            community_id=community,
            foundation=given.foundation,
            topic=given.topic,
            amount_fen=given.amount_fen,
            volunteer_ids=tuple(
                _resident_in(community, v, "grant.volunteers") for v in given.volunteers
            ),
            granted_on=parse_date(given.grant_date, "grant.grant_date"),
            request_id=request.request_id,
            actor=current_principal(),
        )
        made = await self._run(support.create_grant, command)
        return pb.CreateResearchGrantResponse(grant=grant_message(made))

    async def ListResearchGrants(
        self, request: pb.ListResearchGrantsRequest, context: Context
    ) -> pb.ListResearchGrantsResponse:
        """A page of the community's grants, newest first."""
        offset, limit = _page(request)
        found, more = await self._query(
            support.list_grants, _community(request.parent), offset, limit
        )
        return pb.ListResearchGrantsResponse(
            grants=[grant_message(g) for g in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def RecordGrantOutcome(
        self, request: pb.RecordGrantOutcomeRequest, context: Context
    ) -> pb.RecordGrantOutcomeResponse:
        """Record what a grant's research found."""
        ids = RESEARCH_GRANT.parse(request.name)
        command = commands.RecordGrantOutcome(
            community_id=ids["community"],
            grant_id=ids["grant"],
            outcomes=request.outcomes,
            request_id=request.request_id,
            actor=current_principal(),
        )
        recorded = await self._run(support.record_outcome, command)
        return pb.RecordGrantOutcomeResponse(grant=grant_message(recorded))

    async def RecommendPublication(
        self, request: pb.RecommendPublicationRequest, context: Context
    ) -> pb.RecommendPublicationResponse:
        """Recommend a grant's outcomes for publication, or not."""
        ids = RESEARCH_GRANT.parse(request.name)
        command = commands.RecommendPublication(
            community_id=ids["community"],
            grant_id=ids["grant"],
            recommend=request.recommend,
            request_id=request.request_id,
            actor=current_principal(),
        )
        decided = await self._run(support.recommend_publication, command, clock=self.clock)
        return pb.RecommendPublicationResponse(grant=grant_message(decided))

    async def CreateRotaSlot(
        self, request: pb.CreateRotaSlotRequest, context: Context
    ) -> pb.CreateRotaSlotResponse:
        """Put a law firm on the legal-aid rota."""
        given = request.slot
        command = commands.CreateRotaSlot(
            community_id=_community(request.parent),
            firm=given.firm,
            weekday=given.weekday,
            start_hour=given.start_hour,
            end_hour=given.end_hour,
            request_id=request.request_id,
            actor=current_principal(),
        )
        made = await self._run(support.create_slot, command)
        return pb.CreateRotaSlotResponse(slot=slot_message(made))

    async def ListRotaSlots(
        self, request: pb.ListRotaSlotsRequest, context: Context
    ) -> pb.ListRotaSlotsResponse:
        """A page of the rota by weekday and hour."""
        offset, limit = _page(request)
        found, more = await self._query(
            support.list_slots, _community(request.parent), offset, limit
        )
        return pb.ListRotaSlotsResponse(
            slots=[slot_message(s) for s in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def OpenLegalCase(
        self, request: pb.OpenLegalCaseRequest, context: Context
    ) -> pb.OpenLegalCaseResponse:
        """Open a service-dispute case for a resident."""
        community = _community(request.parent)
        given = request.case
        command = commands.OpenLegalCase(
            community_id=community,
            resident_id=_resident_in(community, given.resident, "case.resident"),
            summary=given.summary,
            note=request.note,
            request_id=request.request_id,
            actor=current_principal(),
        )
        opened = await self._run(support.open_case, command, clock=self.clock)
        return pb.OpenLegalCaseResponse(case=case_message(opened))

    async def AssignLegalCase(
        self, request: pb.AssignLegalCaseRequest, context: Context
    ) -> pb.AssignLegalCaseResponse:
        """Assign a case to a firm on the rota."""
        ids = LEGAL_CASE.parse(request.name)
        slot = ROTA_SLOT.parse(request.rota_slot, "rota_slot")
        if slot["community"] != ids["community"]:
            raise InvalidArgument("rota_slot must be on the case's community's rota")
        command = commands.AssignLegalCase(
            community_id=ids["community"],
            case_id=ids["case"],
            slot_id=slot["slot"],
            note=request.note,
            request_id=request.request_id,
            actor=current_principal(),
        )
        assigned = await self._run(support.assign_case, command, clock=self.clock)
        return pb.AssignLegalCaseResponse(case=case_message(assigned))

    async def FinishLegalCase(
        self, request: pb.FinishLegalCaseRequest, context: Context
    ) -> pb.FinishLegalCaseResponse:
        """Resolve or close a case."""
        ids = LEGAL_CASE.parse(request.name)
        command = commands.FinishLegalCase(
            community_id=ids["community"],
            case_id=ids["case"],
            state=case_state(request.state),
            note=request.note,
            request_id=request.request_id,
            actor=current_principal(),
        )
        finished = await self._run(support.finish_case, command, clock=self.clock)
        return pb.FinishLegalCaseResponse(case=case_message(finished))

    async def GetLegalCase(
        self, request: pb.GetLegalCaseRequest, context: Context
    ) -> pb.GetLegalCaseResponse:
        """A case with its steps."""
        ids = LEGAL_CASE.parse(request.name)
        found = await self._query(support.get_case, ids["community"], ids["case"])
        return pb.GetLegalCaseResponse(case=case_message(found))

    async def ListLegalCases(
        self, request: pb.ListLegalCasesRequest, context: Context
    ) -> pb.ListLegalCasesResponse:
        """A page of cases, newest first."""
        community = _community(request.parent)
        resident = _resident_in(community, request.resident, "resident") if request.resident else ""
        offset, limit = _page(request)
        found, more = await self._query(support.list_cases, community, resident, offset, limit)
        return pb.ListLegalCasesResponse(
            cases=[case_message(c) for c in found],
            next_page_token=next_page_token(offset, limit, more),
        )
