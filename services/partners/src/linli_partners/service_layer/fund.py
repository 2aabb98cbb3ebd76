"""Use cases of the innovation fund (O5): calls, proposals, panel scores, awards, incubation."""

from __future__ import annotations

from linli_kit.calendar import local_date
from linli_kit.domain import Clock, new_id, utc_now
from linli_kit.errors import FailedPrecondition, NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_partners.domain import access
from linli_partners.domain.fund import (
    DEFAULT_MAX_AWARD_FEN,
    DEFAULT_MIN_AWARD_FEN,
    FundCall,
    Milestone,
    Proposal,
    Score,
)
from linli_partners.service_layer.commands import (
    AwardProposal,
    CreateFundCall,
    RecordMilestone,
    ScoreProposal,
    SubmitProposal,
)
from linli_partners.service_layer.ports import PartnersUnitOfWork


def call(uow: PartnersUnitOfWork, community_id: str, call_id: str, lock: bool = False) -> FundCall:
    """A call of the community, or NotFound."""
    found = uow.fund_calls.get(community_id, call_id, lock)
    if found is None:
        raise NotFound(f"no fund call {call_id} in {community_id}")
    return found


def proposal(
    uow: PartnersUnitOfWork, community_id: str, call_id: str, proposal_id: str
) -> Proposal:
    """A proposal of the call, or NotFound."""
    found = uow.proposals.get(community_id, call_id, proposal_id)
    if found is None:
        raise NotFound(f"no proposal {proposal_id} in {call_id}")
    return found


def _reload_call(uow: PartnersUnitOfWork, cmd: CreateFundCall, ref: str) -> tuple[FundCall, int]:
    return call(uow, cmd.community_id, ref), uow.fund_calls.awarded(cmd.community_id, ref)


@idempotent(_reload_call, reference=lambda made: made[0].id)
def create_fund_call(cmd: CreateFundCall, uow: PartnersUnitOfWork) -> tuple[FundCall, int]:
    """Staff open the community's call of a year (one a year)."""
    access.require_staff(cmd.actor, cmd.community_id)
    opened = FundCall(
        community_id=cmd.community_id,
        id=new_id("f"),
        title=cmd.title,
        year=cmd.year,
        opens_on=cmd.opens_on,
        closes_on=cmd.closes_on,
        budget_fen=cmd.budget_fen,
        min_award_fen=cmd.min_award_fen or DEFAULT_MIN_AWARD_FEN,
        max_award_fen=cmd.max_award_fen or DEFAULT_MAX_AWARD_FEN,
    )
    uow.fund_calls.add(opened)
    return opened, 0


def get_fund_call(
    actor: Principal, community_id: str, call_id: str, uow: PartnersUnitOfWork
) -> tuple[FundCall, int]:
    """A call and what it has awarded, for any person of the community."""
    require_community(actor, community_id)
    with uow:
        return call(uow, community_id, call_id), uow.fund_calls.awarded(community_id, call_id)


def list_fund_calls(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[tuple[FundCall, int]], bool]:
    """A page of the community's calls, newest year first, with what each has awarded."""
    require_community(actor, community_id)
    with uow:
        found = uow.fund_calls.page(community_id, offset, limit + 1)
        listed = [(c, uow.fund_calls.awarded(community_id, c.id)) for c in found[:limit]]
    return listed, len(found) > limit


def _reload_proposal(
    uow: PartnersUnitOfWork, cmd: SubmitProposal | AwardProposal, ref: str
) -> Proposal:
    return proposal(uow, cmd.community_id, cmd.call_id, ref)


@idempotent(_reload_proposal)
def submit_proposal(
    cmd: SubmitProposal, uow: PartnersUnitOfWork, clock: Clock = utc_now
) -> Proposal:
    """A resident submits their own proposal while the call is open."""
    access.require_resident(cmd.actor, cmd.community_id, cmd.resident_id)
    now = clock()
    submitted = Proposal.submit(
        call(uow, cmd.community_id, cmd.call_id),
        local_date(now),
        id=new_id("p"),
        proposer_id=cmd.resident_id,
        title=cmd.title,
        summary=cmd.summary,
        requested_fen=cmd.requested_fen,
        submitted_at=now,
    )
    uow.proposals.add(submitted)
    return submitted


def get_proposal(
    actor: Principal, community_id: str, call_id: str, proposal_id: str, uow: PartnersUnitOfWork
) -> Proposal:
    """A proposal, for its proposer or the panel."""
    require_community(actor, community_id)
    with uow:
        found = proposal(uow, community_id, call_id, proposal_id)
    access.require_panel_or_self(actor, community_id, found.proposer_id)
    return found


def list_proposals(
    actor: Principal,
    community_id: str,
    call_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[Proposal], bool]:
    """A page of a call's proposals, oldest first, for the panel."""
    access.require_panel(actor, community_id)
    with uow:
        call(uow, community_id, call_id)
        found = uow.proposals.page(community_id, call_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def _reload_score(uow: PartnersUnitOfWork, cmd: ScoreProposal, ref: str) -> Score:
    found = uow.proposals.score(cmd.community_id, cmd.call_id, cmd.proposal_id, ref)
    if found is None:
        raise NotFound(f"no score by {ref}")
    return found


@idempotent(_reload_score, reference=lambda score: score.member_id)
def score_proposal(cmd: ScoreProposal, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> Score:
    """A panel member scores a proposal, once, never their own."""
    access.require_panel(cmd.actor, cmd.community_id)
    scored = proposal(uow, cmd.community_id, cmd.call_id, cmd.proposal_id)
    member = cmd.actor.resident_id
    scored.check_scorer(member)
    score = Score(
        community_id=cmd.community_id,
        call_id=cmd.call_id,
        proposal_id=cmd.proposal_id,
        member_id=member,
        score=cmd.score,
        comment=cmd.comment,
        scored_at=clock(),
    )
    uow.proposals.add_score(score)
    return score


def list_scores(
    actor: Principal,
    community_id: str,
    call_id: str,
    proposal_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[Score], bool]:
    """A page of a proposal's scores, for the panel."""
    access.require_panel(actor, community_id)
    with uow:
        proposal(uow, community_id, call_id, proposal_id)
        found = uow.proposals.scores(community_id, call_id, proposal_id, offset, limit + 1)
    return found[:limit], len(found) > limit


@idempotent(_reload_proposal)
def award_proposal(cmd: AwardProposal, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> Proposal:
    """Staff award a proposal after its call closes, within the range and the budget.

    The call's row is locked first, so awards of one call are decided one at a time and the
    budget read is the budget left; the award itself is a conditional update.
    """
    access.require_staff(cmd.actor, cmd.community_id)
    locked = call(uow, cmd.community_id, cmd.call_id, lock=True)
    awarded = proposal(uow, cmd.community_id, cmd.call_id, cmd.proposal_id)
    now = clock()
    so_far = uow.fund_calls.awarded(cmd.community_id, cmd.call_id)
    awarded.award(locked, cmd.amount_fen, so_far, cmd.actor.resident_id, now, local_date(now))
    if not uow.proposals.save_award(awarded):
        raise FailedPrecondition("the proposal is awarded already")
    return awarded


def _reload_milestone(uow: PartnersUnitOfWork, cmd: RecordMilestone, ref: str) -> Milestone:
    found = uow.proposals.milestone(cmd.community_id, cmd.call_id, cmd.proposal_id, ref)
    if found is None:
        raise NotFound(f"no milestone {ref}")
    return found


@idempotent(_reload_milestone)
def record_milestone(cmd: RecordMilestone, uow: PartnersUnitOfWork) -> Milestone:
    """Staff or the proposer record a step of an awarded proposal's incubation."""
    incubated = proposal(uow, cmd.community_id, cmd.call_id, cmd.proposal_id)
    access.require_self_or_staff(cmd.actor, cmd.community_id, incubated.proposer_id)
    incubated.check_incubating()
    milestone = Milestone(
        community_id=cmd.community_id,
        call_id=cmd.call_id,
        proposal_id=cmd.proposal_id,
        id=new_id("m"),
        on=cmd.on,
        title=cmd.title,
        note=cmd.note,
        recorded_by=cmd.actor.resident_id,
    )
    uow.proposals.add_milestone(milestone)
    return milestone


def list_milestones(
    actor: Principal,
    community_id: str,
    call_id: str,
    proposal_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[Milestone], bool]:
    """A page of a proposal's milestones by date, for its proposer or the panel."""
    require_community(actor, community_id)
    with uow:
        found_proposal = proposal(uow, community_id, call_id, proposal_id)
        access.require_panel_or_self(actor, community_id, found_proposal.proposer_id)
        found = uow.proposals.milestones(community_id, call_id, proposal_id, offset, limit + 1)
    return found[:limit], len(found) > limit
