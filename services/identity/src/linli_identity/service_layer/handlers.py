"""Identity use cases: plain functions taking a command and a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from linli_identity.domain.residents import Community, Resident
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, NotFound


@dataclass(frozen=True)
class CreateCommunity:
    """Create a community."""

    community_id: str
    display_name: str
    request_id: str = ""


@dataclass(frozen=True)
class RegisterResident:
    """Register a resident in a community."""

    community_id: str
    display_name: str
    phone: str
    org_unit: str = ""
    request_id: str = ""
    birth_date: date | None = None
    household: str = ""
    home_unit_id: str = ""


def create_community(
    cmd: CreateCommunity, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> Community:
    """Create a community; a retry with the same request id returns it again."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return existing_community(uow, done)
        community = Community.create(cmd.community_id, cmd.display_name, clock())
        if uow.communities.get(community.id) is not None:
            raise AlreadyExists(f"community {community.id!r} already exists")
        uow.communities.add(community)
        uow.requests.remember(cmd, community.id)
        uow.commit()
        return community


def get_community(community_id: str, uow: IdentityUnitOfWork) -> Community:
    """A community, or NotFound."""
    with uow:
        return existing_community(uow, community_id)


def register_resident(
    cmd: RegisterResident, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> Resident:
    """Register a resident; one phone number per community; retries replay the first result."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return get_resident_in(uow, cmd.community_id, done)
        existing_community(uow, cmd.community_id)
        home = None
        if cmd.home_unit_id:
            home = uow.org_units.get(cmd.community_id, cmd.home_unit_id)
            if home is None:
                raise NotFound(f"org unit {cmd.home_unit_id!r} does not exist in the community")
        resident = Resident.register(
            cmd.community_id,
            cmd.display_name,
            cmd.phone,
            cmd.org_unit,
            clock(),
            cmd.birth_date,
            cmd.household,
            home,
        )
        if uow.residents.by_phone(cmd.community_id, resident.phone) is not None:
            raise AlreadyExists("a resident with this phone number is already registered")
        uow.residents.add(resident)
        uow.requests.remember(cmd, resident.id)
        uow.commit()
        return resident


def get_resident(community_id: str, resident_id: str, uow: IdentityUnitOfWork) -> Resident:
    """A resident, or NotFound."""
    with uow:
        return get_resident_in(uow, community_id, resident_id)


def list_residents(
    community_id: str, offset: int, limit: int, uow: IdentityUnitOfWork
) -> tuple[list[Resident], bool]:
    """A page of a community's residents and whether more follow."""
    with uow:
        existing_community(uow, community_id)
        residents = uow.residents.list(community_id, offset, limit + 1)
        return residents[:limit], len(residents) > limit


def get_resident_in(uow: IdentityUnitOfWork, community_id: str, resident_id: str) -> Resident:
    """A resident within an open unit of work, or NotFound."""
    resident = uow.residents.get(community_id, resident_id)
    if resident is None:
        raise NotFound(f"communities/{community_id}/residents/{resident_id} does not exist")
    return resident


def existing_community(uow: IdentityUnitOfWork, community_id: str) -> Community:
    """A community within an open unit of work, or NotFound."""
    community = uow.communities.get(community_id)
    if community is None:
        raise NotFound(f"community {community_id!r} does not exist")
    return community
