"""Loading what a use case needs inside an open unit of work, or NotFound naming it."""

from __future__ import annotations

from typing import TypeVar

from linli_identity.domain import names
from linli_identity.domain.consent import FaceConsent
from linli_identity.domain.org import OrgUnit
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.teams import SpecialTeam
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.errors import NotFound

T = TypeVar("T")


def found(value: T | None, what: str) -> T:
    """The value a repository found, or NotFound saying that `what` does not exist."""
    if value is None:
        raise NotFound(f"{what} does not exist")
    return value


def existing_community(uow: IdentityUnitOfWork, community_id: str) -> Community:
    """A community, or NotFound."""
    return found(uow.communities.get(community_id), f"community {community_id!r}")


def existing_resident(uow: IdentityUnitOfWork, community_id: str, resident_id: str) -> Resident:
    """A resident, or NotFound."""
    return found(
        uow.residents.get(community_id, resident_id),
        names.RESIDENT.format(community=community_id, resident=resident_id),
    )


def existing_unit(uow: IdentityUnitOfWork, community_id: str, unit_id: str) -> OrgUnit:
    """An org unit, or NotFound."""
    return found(
        uow.org_units.get(community_id, unit_id),
        names.ORG_UNIT.format(community=community_id, unit=unit_id),
    )


def existing_team(uow: IdentityUnitOfWork, community_id: str, team_id: str) -> SpecialTeam:
    """A special team, or NotFound."""
    return found(
        uow.teams.get(community_id, team_id),
        names.SPECIAL_TEAM.format(community=community_id, team=team_id),
    )


def existing_consent(uow: IdentityUnitOfWork, community_id: str, consent_id: str) -> FaceConsent:
    """A face consent, or NotFound."""
    return found(uow.consents.get(community_id, consent_id), f"face consent {consent_id}")
