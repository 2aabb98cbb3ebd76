"""Use cases of eligibility (E2): benefits partners offer, residents' codes, partners' checks."""

from __future__ import annotations

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_partners.domain import access
from linli_partners.domain.eligibility import (
    EligibilityCheck,
    EligibilityCode,
    PartnerBenefit,
    code_digest,
    require_code,
)
from linli_partners.service_layer.commands import (
    CheckEligibility,
    CreateEligibilityCode,
    CreatePartnerBenefit,
)
from linli_partners.service_layer.partners import partner
from linli_partners.service_layer.ports import PartnersUnitOfWork, Points, Quota


def benefit(
    uow: PartnersUnitOfWork, community_id: str, partner_id: str, benefit_id: str
) -> PartnerBenefit:
    """A partner's benefit, or NotFound."""
    found = uow.benefits.get(community_id, partner_id, benefit_id)
    if found is None:
        raise NotFound(f"no benefit {benefit_id} of partner {partner_id}")
    return found


def _reload_benefit(uow: PartnersUnitOfWork, cmd: CreatePartnerBenefit, ref: str) -> PartnerBenefit:
    return benefit(uow, cmd.community_id, cmd.partner_id, ref)


@idempotent(_reload_benefit)
def create_benefit(cmd: CreatePartnerBenefit, uow: PartnersUnitOfWork) -> PartnerBenefit:
    """Staff add a benefit a partner offers, with its rule."""
    access.require_staff(cmd.actor, cmd.community_id)
    partner(uow, cmd.community_id, cmd.partner_id)
    offered = PartnerBenefit(
        community_id=cmd.community_id,
        partner_id=cmd.partner_id,
        id=cmd.benefit_id,
        title=cmd.title,
        rule=cmd.rule,
        description=cmd.description,
    )
    uow.benefits.add(offered)
    return offered


def list_benefits(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[PartnerBenefit], bool]:
    """A page of the benefits partners offer in the community, and whether more follow."""
    require_community(actor, community_id)
    with uow:
        found = uow.benefits.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def _reload_code(uow: PartnersUnitOfWork, cmd: CreateEligibilityCode, ref: str) -> EligibilityCode:
    found = uow.eligibility.code(cmd.community_id, ref)
    if found is None:
        raise NotFound("no such code")
    return found


@idempotent(_reload_code, reference=lambda stored: stored.digest)
def create_code(
    cmd: CreateEligibilityCode, uow: PartnersUnitOfWork, clock: Clock = utc_now
) -> EligibilityCode:
    """A resident makes a code for themself (made by the CodeMaker: a retry shows the same)."""
    access.require_resident(cmd.actor, cmd.community_id, cmd.resident_id)
    stored = EligibilityCode.issue(cmd.community_id, cmd.resident_id, cmd.code, clock())
    uow.eligibility.add_code(stored)
    return stored


def _reload_check(uow: PartnersUnitOfWork, cmd: CheckEligibility, ref: str) -> EligibilityCheck:
    found = uow.eligibility.check(cmd.community_id, ref)
    if found is None:
        raise NotFound(f"no check {ref}")
    return found


@idempotent(_reload_check)
def check(
    cmd: CheckEligibility,
    uow: PartnersUnitOfWork,
    points: Points,
    quota: Quota,
    clock: Clock = utc_now,
) -> EligibilityCheck:
    """A partner checks a resident's code against a benefit in its scopes, once per code."""
    access.require_checker(cmd.actor, cmd.community_id, cmd.benefit_id)
    checker = partner(uow, cmd.community_id, cmd.actor.subject)
    quota.charge(checker.id, checker.checks_per_minute)
    offered = benefit(uow, cmd.community_id, cmd.partner_id, cmd.benefit_id)
    now = clock()
    used = require_code(uow.eligibility.use_code(cmd.community_id, code_digest(cmd.code), now))
    standing = points.standing(cmd.community_id, used.resident_id, offered.rule.top_n)
    answer = EligibilityCheck.answer(offered, checker.id, used.resident_id, standing, now)
    uow.eligibility.add_check(answer)
    return answer


def checks_of(
    actor: Principal,
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[EligibilityCheck], dict[str, str], bool]:
    """A page of the checks made of a resident's codes, for them or staff: the checks, the
    display names of the partners who made them, and whether more follow."""
    access.require_self_or_staff(actor, community_id, resident_id)
    with uow:
        found = uow.eligibility.checks_of(community_id, resident_id, offset, limit + 1)
        names = {
            partner_id: partner(uow, community_id, partner_id).display_name
            for partner_id in {c.partner_id for c in found[:limit]}
        }
    return found[:limit], names, len(found) > limit
