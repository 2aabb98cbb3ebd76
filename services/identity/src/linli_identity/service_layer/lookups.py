"""Loading what a use case needs inside an open unit of work, or NotFound naming it."""

from __future__ import annotations

from linli_identity.domain import names
from linli_identity.domain.consent import FaceConsent
from linli_identity.domain.org import OrgUnit
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import SpecialTeam
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.errors import NotFound


def existing_community(uow: IdentityUnitOfWork, community_id: str) -> Community:
    """A community, or NotFound."""
    community = uow.communities.get(community_id)
    if community is None:
        raise NotFound(f"community {community_id!r} does not exist")
    return community


def existing_resident(uow: IdentityUnitOfWork, community_id: str, resident_id: str) -> Resident:
    """A resident, or NotFound."""
    resident = uow.residents.get(community_id, resident_id)
    if resident is None:
        name = names.RESIDENT.format(community=community_id, resident=resident_id)
        raise NotFound(f"{name} does not exist")
    return resident


def existing_unit(uow: IdentityUnitOfWork, community_id: str, unit_id: str) -> OrgUnit:
    """An org unit, or NotFound."""
    unit = uow.org_units.get(community_id, unit_id)
    if unit is None:
        name = names.ORG_UNIT.format(community=community_id, unit=unit_id)
        raise NotFound(f"{name} does not exist")
    return unit


def existing_team(uow: IdentityUnitOfWork, community_id: str, team_id: str) -> SpecialTeam:
    """A special team, or NotFound."""
    team = uow.teams.get(community_id, team_id)
    if team is None:
        name = names.SPECIAL_TEAM.format(community=community_id, team=team_id)
        raise NotFound(f"{name} does not exist")
    return team


def existing_consent(uow: IdentityUnitOfWork, community_id: str, consent_id: str) -> FaceConsent:
    """A face consent, or NotFound."""
    consent = uow.consents.get(community_id, consent_id)
    if consent is None:
        raise NotFound(f"face consent {consent_id} does not exist")
    return consent
