"""The innovation fund (O5): a yearly call, volunteers' proposals, panel scores, awards, incubation.

- A community holds one call a year: its title, the days it takes proposals (both included, in
  its year), its budget and its award range (2,000 to 5,000 yuan unless set), all in fen.
- A resident submits their own proposal while the call is open, asking for an amount within
  the range.
- Panel members (staff or the supervision committee) score a proposal 0-100, each once, never
  their own; scoring ends when the proposal is awarded.
- Staff award a proposal once its call has closed: an amount within the range, once, never
  their own, and the call's awards within its budget (the call is locked while deciding, so
  two awards at once cannot both take the last of it).
- An awarded proposal's incubation is a list of dated milestones with notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied

# The policy's award range: 2,000 to 5,000 yuan, in fen.
DEFAULT_MIN_AWARD_FEN = 2_000_00
DEFAULT_MAX_AWARD_FEN = 5_000_00
MAX_FEN = 100_000_000_000


def _text(value: str, field_name: str, longest: int) -> None:
    if not value.strip() or len(value) > longest:
        raise InvalidArgument(f"{field_name} must be 1 to {longest} characters")


@dataclass(kw_only=True)
class FundCall:
    """A community's innovation-fund call of one year."""

    community_id: str
    id: str
    title: str
    year: int
    opens_on: date
    closes_on: date
    budget_fen: int
    min_award_fen: int = DEFAULT_MIN_AWARD_FEN
    max_award_fen: int = DEFAULT_MAX_AWARD_FEN

    def __post_init__(self) -> None:
        _text(self.title, "call.title", 100)
        if not self.opens_on <= self.closes_on or self.opens_on.year != self.year:
            raise InvalidArgument("a call opens in its year, and by its close date")
        if not 1 <= self.min_award_fen <= self.max_award_fen <= MAX_FEN:
            raise InvalidArgument("the award range must be 1 fen or more, its minimum first")
        if not self.min_award_fen <= self.budget_fen <= MAX_FEN:
            raise InvalidArgument("call.budget_fen must cover at least the smallest award")

    def is_open(self, today: date) -> bool:
        """Whether the call takes proposals on a day."""
        return self.opens_on <= today <= self.closes_on

    def check_amount(self, amount_fen: int, field_name: str) -> None:
        """InvalidArgument unless the amount is within the award range."""
        if not self.min_award_fen <= amount_fen <= self.max_award_fen:
            raise InvalidArgument(
                f"{field_name} must be {self.min_award_fen} to {self.max_award_fen} fen"
            )


class ProposalState(StrEnum):
    """Where a proposal stands."""

    SUBMITTED = "submitted"
    AWARDED = "awarded"


@dataclass(kw_only=True)
class Proposal:
    """A volunteer's service proposal to a call."""

    community_id: str
    call_id: str
    id: str
    proposer_id: str
    title: str
    summary: str
    requested_fen: int
    submitted_at: datetime
    awarded_fen: int | None = None
    awarded_by: str = ""
    awarded_at: datetime | None = None
    # The panel's scores so far, as read: how many and their mean.
    score_count: int = 0
    mean_score: float = 0.0

    def __post_init__(self) -> None:
        _text(self.title, "proposal.title", 100)
        _text(self.summary, "proposal.summary", 4000)

    @classmethod
    def submit(cls, call: FundCall, today: date, **fields: object) -> Proposal:
        """A proposal to an open call, asking for an amount within its range."""
        if not call.is_open(today):
            raise FailedPrecondition(
                f"the call takes proposals from {call.opens_on} to {call.closes_on}"
            )
        proposal = cls(community_id=call.community_id, call_id=call.id, **fields)  # type: ignore[arg-type]
        call.check_amount(proposal.requested_fen, "proposal.requested_fen")
        return proposal

    @property
    def state(self) -> ProposalState:
        """Submitted until awarded."""
        return ProposalState.SUBMITTED if self.awarded_fen is None else ProposalState.AWARDED

    def check_scorer(self, member_id: str) -> None:
        """A panel member may score the proposal: not their own, and not decided yet."""
        if member_id == self.proposer_id:
            raise PermissionDenied("a panel member does not score their own proposal")
        if self.state is not ProposalState.SUBMITTED:
            raise FailedPrecondition("the proposal is decided: scoring is over")

    def award(
        self,
        call: FundCall,
        amount_fen: int,
        awarded_so_far: int,
        by: str,
        at: datetime,
        today: date,
    ) -> None:
        """Award the proposal, its call closed, within the range and what is left of the budget."""
        if by == self.proposer_id:
            raise PermissionDenied("no one awards their own proposal")
        if self.state is ProposalState.AWARDED:
            raise FailedPrecondition("the proposal is awarded already")
        if today <= call.closes_on:
            raise FailedPrecondition(f"the call closes on {call.closes_on}: award after it")
        call.check_amount(amount_fen, "amount_fen")
        left = call.budget_fen - awarded_so_far
        if amount_fen > left:
            raise FailedPrecondition(f"the call has {left} fen of its budget left")
        self.awarded_fen, self.awarded_by, self.awarded_at = amount_fen, by, at

    def check_incubating(self) -> None:
        """FailedPrecondition unless the proposal was awarded (incubation follows an award)."""
        if self.state is not ProposalState.AWARDED:
            raise FailedPrecondition("milestones are recorded for awarded proposals only")


@dataclass(frozen=True, kw_only=True)
class Score:
    """One panel member's score of a proposal."""

    community_id: str
    call_id: str
    proposal_id: str
    member_id: str
    score: int
    comment: str
    scored_at: datetime

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise InvalidArgument("score must be 0 to 100")
        if len(self.comment) > 1000:
            raise InvalidArgument("comment must be at most 1000 characters")


@dataclass(frozen=True, kw_only=True)
class Milestone:
    """A dated step of an awarded proposal's incubation."""

    community_id: str
    call_id: str
    proposal_id: str
    id: str
    on: date
    title: str
    note: str
    recorded_by: str

    def __post_init__(self) -> None:
        _text(self.title, "milestone.title", 100)
        if len(self.note) > 2000:
            raise InvalidArgument("milestone.note must be at most 2000 characters")
