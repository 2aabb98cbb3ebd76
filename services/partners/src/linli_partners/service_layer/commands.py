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
