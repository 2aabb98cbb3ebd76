"""Use cases of high-score benefits (R3): offer, apply against the threshold, decide."""

from __future__ import annotations

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_rewards.domain import access
from linli_rewards.domain.benefits import Benefit, BenefitApplication, default_benefits
from linli_rewards.service_layer.commands import (
    ApplyForBenefit,
    CreateBenefit,
    CreateDefaultBenefits,
    DecideBenefitApplication,
)
from linli_rewards.service_layer.ports import Points, RewardsUnitOfWork


def benefit(uow: RewardsUnitOfWork, community_id: str, benefit_id: str) -> Benefit:
    """A benefit of the community, or NotFound."""
    found = uow.benefits.get(community_id, benefit_id)
    if found is None:
        raise NotFound(f"no benefit {benefit_id} in {community_id}")
    return found


def application(
    uow: RewardsUnitOfWork, community_id: str, application_id: str
) -> BenefitApplication:
    """An application of the community, locked for update, or NotFound."""
    found = uow.benefits.application(community_id, application_id)
    if found is None:
        raise NotFound(f"no benefit application {application_id} in {community_id}")
    return found


def _reload_benefit(uow: RewardsUnitOfWork, cmd: CreateBenefit, ref: str) -> Benefit:
    return benefit(uow, cmd.community_id, ref)


def _reload_defaults(uow: RewardsUnitOfWork, cmd: CreateDefaultBenefits, ref: str) -> list[Benefit]:
    return [benefit(uow, cmd.community_id, b) for b in ref.split(",") if b]


def _reload_application(
    uow: RewardsUnitOfWork, cmd: ApplyForBenefit | DecideBenefitApplication, ref: str
) -> BenefitApplication:
    return application(uow, cmd.community_id, ref)


@idempotent(_reload_benefit)
def create_benefit(cmd: CreateBenefit, uow: RewardsUnitOfWork) -> Benefit:
    """Staff offer a benefit with its threshold."""
    access.require_staff(cmd.actor, cmd.community_id)
    offered = Benefit(
        community_id=cmd.community_id,
        id=cmd.id,
        title=cmd.title,
        description=cmd.description,
        min_lifetime=cmd.min_lifetime,
        tiers=cmd.tiers,
    )
    uow.benefits.add(offered)
    return offered


@idempotent(_reload_defaults, reference=lambda added: ",".join(b.id for b in added))
def create_default_benefits(cmd: CreateDefaultBenefits, uow: RewardsUnitOfWork) -> list[Benefit]:
    """Staff offer the policy's default benefits the community does not offer yet."""
    access.require_staff(cmd.actor, cmd.community_id)
    added = [
        default
        for default in default_benefits(cmd.community_id)
        if uow.benefits.get(cmd.community_id, default.id) is None
    ]
    for default in added:
        uow.benefits.add(default)
    return added


def list_benefits(
    actor: Principal, community_id: str, offset: int, limit: int, uow: RewardsUnitOfWork
) -> tuple[list[Benefit], bool]:
    """A page of the community's benefits, and whether more follow."""
    require_community(actor, community_id)
    with uow:
        found = uow.benefits.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


@idempotent(_reload_application)
def apply_for_benefit(
    cmd: ApplyForBenefit, uow: RewardsUnitOfWork, points: Points, clock: Clock = utc_now
) -> BenefitApplication:
    """A resident (or staff for them) applies; refused below the threshold (asked of points)."""
    access.require_self_or_staff(cmd.actor, cmd.community_id, cmd.resident_id)
    offered = benefit(uow, cmd.community_id, cmd.benefit_id)
    standing = points.standing(cmd.community_id, cmd.resident_id)
    applied = BenefitApplication.apply(offered, cmd.resident_id, standing, clock())
    uow.benefits.add_application(applied)
    return applied


@idempotent(_reload_application)
def decide_benefit_application(
    cmd: DecideBenefitApplication, uow: RewardsUnitOfWork, clock: Clock = utc_now
) -> BenefitApplication:
    """Staff grant or refuse a pending application."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = application(uow, cmd.community_id, cmd.application_id)
    found.decide(cmd.grant, cmd.actor.resident_id, clock(), cmd.note)
    uow.benefits.save_application(found)
    return found


def list_applications(
    actor: Principal,
    community_id: str,
    resident_id: str | None,
    offset: int,
    limit: int,
    uow: RewardsUnitOfWork,
) -> tuple[list[BenefitApplication], bool]:
    """A page of applications: one resident's (theirs or staff), or the community's (staff)."""
    if resident_id is None:
        access.require_staff(actor, community_id)
    else:
        access.require_self_or_staff(actor, community_id, resident_id)
    with uow:
        found = uow.benefits.applications(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit
