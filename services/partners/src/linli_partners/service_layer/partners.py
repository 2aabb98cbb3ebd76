"""Use cases of partners (E1, E3): register, scope and revoke them; agreements; contributions."""

from __future__ import annotations

from collections.abc import Callable

from linli_kit.calendar import local_date, policy_year
from linli_kit.domain import Clock, new_id, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent
from linli_partners.domain import access
from linli_partners.domain.partners import (
    DEFAULT_TITLE_THRESHOLD_FEN,
    Agreement,
    Contribution,
    Partner,
    PartnerTitle,
)
from linli_partners.service_layer.commands import (
    CreateAgreement,
    CreatePartner,
    RecordContribution,
    RevokePartner,
    TerminateAgreement,
    UpdatePartnerAccess,
)
from linli_partners.service_layer.ports import PartnersUnitOfWork

# The title threshold of a community, in fen (a per-community setting).
Thresholds = Callable[[str], int]


def partner(
    uow: PartnersUnitOfWork, community_id: str, partner_id: str, lock: bool = False
) -> Partner:
    """A partner of the community, or NotFound."""
    found = uow.partners.get(community_id, partner_id, lock)
    if found is None:
        raise NotFound(f"no partner {partner_id} in {community_id}")
    return found


def _reload_partner(
    uow: PartnersUnitOfWork, cmd: CreatePartner | UpdatePartnerAccess | RevokePartner, ref: str
) -> Partner:
    return partner(uow, cmd.community_id, ref)


@idempotent(_reload_partner)
def create_partner(cmd: CreatePartner, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> Partner:
    """Staff register a partner enterprise."""
    access.require_staff(cmd.actor, cmd.community_id)
    registered = Partner(
        community_id=cmd.community_id,
        id=cmd.partner_id,
        display_name=cmd.display_name,
        kind=cmd.kind,
        created_at=clock(),
        benefits=cmd.benefits,
        consume_vouchers=cmd.consume_vouchers,
        checks_per_minute=cmd.checks_per_minute,
    )
    uow.partners.add(registered)
    return registered


@idempotent(_reload_partner)
def update_partner_access(cmd: UpdatePartnerAccess, uow: PartnersUnitOfWork) -> Partner:
    """Staff replace what a partner may do."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = partner(uow, cmd.community_id, cmd.partner_id, lock=True)
    found.update_access(cmd.benefits, cmd.consume_vouchers, cmd.checks_per_minute)
    uow.partners.save(found)
    return found


@idempotent(_reload_partner)
def revoke_partner(cmd: RevokePartner, uow: PartnersUnitOfWork, clock: Clock = utc_now) -> Partner:
    """Staff revoke a partner: its certificate is refused from its next call on."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = partner(uow, cmd.community_id, cmd.partner_id, lock=True)
    found.revoke(cmd.reason, clock())
    uow.partners.save(found)
    return found


def get_partner(
    actor: Principal, community_id: str, partner_id: str, uow: PartnersUnitOfWork
) -> Partner:
    """A partner, for staff or the partner itself."""
    access.require_partner_or_staff(actor, community_id, partner_id)
    with uow:
        return partner(uow, community_id, partner_id)


def list_partners(
    actor: Principal, community_id: str, offset: int, limit: int, uow: PartnersUnitOfWork
) -> tuple[list[Partner], bool]:
    """A page of the community's partners for staff, and whether more follow."""
    access.require_staff(actor, community_id)
    with uow:
        found = uow.partners.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def scopes(
    actor: Principal, community_id: str, partner_id: str, uow: PartnersUnitOfWork
) -> frozenset[str]:
    """What a registered, unrevoked partner may do, for the community's services."""
    access.require_service(actor, community_id)
    with uow:
        found = uow.partners.get(community_id, partner_id)
    if found is None or found.revoked_at is not None:
        raise NotFound(f"no partner {partner_id} in {community_id}")
    return found.scopes


def _reload_agreement(
    uow: PartnersUnitOfWork, cmd: CreateAgreement | TerminateAgreement, ref: str
) -> Agreement:
    found = uow.agreements.get(cmd.community_id, cmd.partner_id, ref)
    if found is None:
        raise NotFound(f"no agreement {ref}")
    return found


@idempotent(_reload_agreement)
def create_agreement(cmd: CreateAgreement, uow: PartnersUnitOfWork) -> Agreement:
    """Staff record a signed agreement."""
    access.require_staff(cmd.actor, cmd.community_id)
    partner(uow, cmd.community_id, cmd.partner_id)
    signed = Agreement(
        community_id=cmd.community_id,
        partner_id=cmd.partner_id,
        id=new_id("g"),
        title=cmd.title,
        terms=cmd.terms,
        signed_on=cmd.signed_on,
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
    )
    uow.agreements.add(signed)
    return signed


@idempotent(_reload_agreement)
def terminate_agreement(
    cmd: TerminateAgreement, uow: PartnersUnitOfWork, clock: Clock = utc_now
) -> Agreement:
    """Staff end an agreement early."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = _reload_agreement(uow, cmd, cmd.agreement_id)
    found.terminate(local_date(clock()), cmd.reason)
    uow.agreements.save(found)
    return found


def list_agreements(
    actor: Principal,
    community_id: str,
    partner_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[Agreement], bool]:
    """A page of a partner's agreements, for staff or the partner itself."""
    access.require_partner_or_staff(actor, community_id, partner_id)
    with uow:
        found = uow.agreements.of_partner(community_id, partner_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def _reload_contribution(
    uow: PartnersUnitOfWork, cmd: RecordContribution, ref: str
) -> tuple[Contribution, PartnerTitle | None]:
    found = uow.contributions.get(cmd.community_id, cmd.partner_id, ref)
    if found is None:
        raise NotFound(f"no contribution {ref}")
    title = uow.titles.get(cmd.community_id, cmd.partner_id, found.year)
    return found, title if title is not None and title.contribution_id == found.id else None


@idempotent(_reload_contribution, reference=lambda recorded: recorded[0].id)
def record_contribution(
    cmd: RecordContribution,
    uow: PartnersUnitOfWork,
    thresholds: Thresholds = lambda community_id: DEFAULT_TITLE_THRESHOLD_FEN,
    clock: Clock = utc_now,
) -> tuple[Contribution, PartnerTitle | None]:
    """Staff record what a partner gave; the first that takes its year over the threshold
    grants the title (the partner's row is locked, so two at once cannot both grant it)."""
    access.require_staff(cmd.actor, cmd.community_id)
    partner(uow, cmd.community_id, cmd.partner_id, lock=True)
    given_at = cmd.given_at or clock()
    year = policy_year(given_at)
    contribution = Contribution(
        community_id=cmd.community_id,
        partner_id=cmd.partner_id,
        id=new_id("c"),
        description=cmd.description,
        value_fen=cmd.value_fen,
        given_at=given_at,
        year=year,
    )
    contribution.recorded()
    uow.contributions.add(contribution)
    total = uow.contributions.year_total(cmd.community_id, cmd.partner_id, year)
    title = None
    if (
        total >= thresholds(cmd.community_id)
        and uow.titles.get(cmd.community_id, cmd.partner_id, year) is None
    ):
        serial = uow.titles.next_serial(cmd.community_id, year)
        title = PartnerTitle.grant(contribution, serial, total)
        uow.titles.add(title)
    return contribution, title


def list_contributions(
    actor: Principal,
    community_id: str,
    partner_id: str,
    offset: int,
    limit: int,
    uow: PartnersUnitOfWork,
) -> tuple[list[Contribution], bool]:
    """A page of a partner's contributions, for staff or the partner itself."""
    access.require_partner_or_staff(actor, community_id, partner_id)
    with uow:
        found = uow.contributions.of_partner(community_id, partner_id, offset, limit + 1)
    return found[:limit], len(found) > limit
