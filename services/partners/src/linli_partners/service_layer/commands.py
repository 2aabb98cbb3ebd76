"""What the partners use cases are asked to do: one command per mutating request.

Every command carries its caller (`actor`): the access rules take it, and a request id reused
by another caller is refused rather than answered with the first caller's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from linli_kit.principals import Principal
from linli_partners.domain.eligibility import EligibilityRule
from linli_partners.domain.partners import DEFAULT_CHECKS_PER_MINUTE, PartnerKind
from linli_partners.domain.support import CaseState


@dataclass(frozen=True, kw_only=True)
class CreatePartner:
    """Register a partner enterprise with what it may do."""

    community_id: str
    partner_id: str
    display_name: str
    kind: PartnerKind
    benefits: tuple[str, ...] = ()
    consume_vouchers: bool = False
    checks_per_minute: int = DEFAULT_CHECKS_PER_MINUTE
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class UpdatePartnerAccess:
    """Replace what a partner may do."""

    community_id: str
    partner_id: str
    benefits: tuple[str, ...]
    consume_vouchers: bool
    checks_per_minute: int
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RevokePartner:
    """Refuse a partner's certificate from now on."""

    community_id: str
    partner_id: str
    reason: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreateAgreement:
    """Record a signed agreement."""

    community_id: str
    partner_id: str
    title: str
    terms: str
    signed_on: date
    starts_on: date
    ends_on: date
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class TerminateAgreement:
    """End an agreement early."""

    community_id: str
    partner_id: str
    agreement_id: str
    reason: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RecordContribution:
    """Record resources a partner gave."""

    community_id: str
    partner_id: str
    description: str
    value_fen: int
    given_at: datetime | None = None
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreatePartnerBenefit:
    """Add a benefit a partner offers, with its rule."""

    community_id: str
    partner_id: str
    benefit_id: str
    title: str
    rule: EligibilityRule
    description: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreateEligibilityCode:
    """A resident makes a code to show a partner (the code made for the request)."""

    community_id: str
    resident_id: str
    code: str
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CheckEligibility:
    """A partner checks a resident's code against one of its benefits."""

    community_id: str
    code: str
    partner_id: str
    benefit_id: str
    request_id: str = ""
    actor: Principal


# Funds and grants (O5, E5).


@dataclass(frozen=True, kw_only=True)
class CreateFundCall:
    """Open the community's innovation-fund call of a year (0 award bounds: the defaults)."""

    community_id: str
    title: str
    year: int
    opens_on: date
    closes_on: date
    budget_fen: int
    min_award_fen: int = 0
    max_award_fen: int = 0
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class SubmitProposal:
    """A resident submits their own proposal to a call."""

    community_id: str
    call_id: str
    resident_id: str
    title: str
    summary: str
    requested_fen: int
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class ScoreProposal:
    """A panel member scores a proposal."""

    community_id: str
    call_id: str
    proposal_id: str
    score: int
    comment: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class AwardProposal:
    """Staff award a proposal after its call closes."""

    community_id: str
    call_id: str
    proposal_id: str
    amount_fen: int
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RecordMilestone:
    """Record a step of an awarded proposal's incubation."""

    community_id: str
    call_id: str
    proposal_id: str
    on: date
    title: str
    note: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreateAgency:
    """Record the resident social-work agency and its contract."""

    community_id: str
    display_name: str
    grade: str
    contract_starts_on: date
    contract_ends_on: date
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RecordSupervisionVisit:
    """Record a supervision visit of an agency's."""

    community_id: str
    agency_id: str
    on: date
    supervisor: str
    topics: tuple[str, ...] = ()
    notes: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreateResearchGrant:
    """Record a research grant with a foundation."""

    community_id: str
    foundation: str
    topic: str
    amount_fen: int
    volunteer_ids: tuple[str, ...]
    granted_on: date
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RecordGrantOutcome:
    """Record what a grant's research found."""

    community_id: str
    grant_id: str
    outcomes: str
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RecommendPublication:
    """Recommend a grant's outcomes for publication, or not."""

    community_id: str
    grant_id: str
    recommend: bool
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreateRotaSlot:
    """Put a law firm on the legal-aid rota."""

    community_id: str
    firm: str
    weekday: int
    start_hour: int
    end_hour: int
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class OpenLegalCase:
    """Open a service-dispute case for a resident."""

    community_id: str
    resident_id: str
    summary: str
    note: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class AssignLegalCase:
    """Assign a case to a firm on the rota."""

    community_id: str
    case_id: str
    slot_id: str
    note: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class FinishLegalCase:
    """Resolve or close a case."""

    community_id: str
    case_id: str
    state: CaseState
    note: str = ""
    request_id: str = ""
    actor: Principal
