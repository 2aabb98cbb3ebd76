"""Communities and their residents (I1), one at a time or imported all or nothing (A4)."""

from __future__ import annotations

from linli_identity.domain.access import (
    redacted,
    require_may_create_community,
    require_self_or_staff_over,
    require_staff,
    require_staff_over,
    sees_contact_details,
)
from linli_identity.domain.resident_import import ResidentImport
from linli_identity.domain.residents import Community, Resident
from linli_identity.service_layer.access import in_actors_community, reach_of
from linli_identity.service_layer.commands import CreateCommunity, ImportResidents, RegisterResident
from linli_identity.service_layer.lookups import (
    existing_community,
    existing_resident,
    found,
)
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent


@idempotent(lambda uow, cmd, ref: existing_community(uow, ref))
def create_community(
    cmd: CreateCommunity, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> Community:
    """Create a community (an sre or an operator); its id is taken once."""
    require_may_create_community(cmd.actor)
    community = Community.create(cmd.new_community_id, cmd.display_name, clock())
    if uow.communities.get(community.id) is not None:
        raise AlreadyExists(f"community {community.id!r} already exists")
    uow.communities.add(community)
    return community


def get_community(community_id: str, uow: IdentityUnitOfWork, *, actor: Principal) -> Community:
    """A community, or NotFound (also for a caller of another community)."""
    require_community(actor, community_id)
    with uow:
        return existing_community(uow, community_id)


@in_actors_community
@idempotent(lambda uow, cmd, ref: existing_resident(uow, cmd.community_id, ref))
def register_resident(
    cmd: RegisterResident, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> Resident:
    """Register a resident (staff, a grid head in their grid); one phone number per community."""
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
    require_staff_over(cmd.actor, resident, reach_of(uow, cmd.actor, cmd.community_id))
    if uow.residents.by_phone(cmd.community_id, resident.phone) is not None:
        raise AlreadyExists("a resident with this phone number is already registered")
    uow.residents.add(resident)
    return resident


def get_resident(
    community_id: str, resident_id: str, uow: IdentityUnitOfWork, *, actor: Principal
) -> Resident:
    """A resident, or NotFound; without contact details for a caller not allowed them.

    The resident themself, their staff, and the community's services (attendance checks that
    residents exist) may read it; contact details only the first two.
    """
    require_community(actor, community_id)
    with uow:
        resident = existing_resident(uow, community_id, resident_id)
        reach = reach_of(uow, actor, community_id)
        if not actor.is_machine:
            require_self_or_staff_over(actor, resident, reach)
        return resident if sees_contact_details(actor, resident, reach) else redacted(resident)


def same_household(
    community_id: str, resident_id: str, other_id: str, uow: IdentityUnitOfWork, *, actor: Principal
) -> bool:
    """Whether two residents of the community share a (recorded) household; neither is told.

    For the points service's supervision council: no member votes on a relative's appeal.
    """
    require_community(actor, community_id)
    with uow:
        resident = existing_resident(uow, community_id, resident_id)
        other = existing_resident(uow, community_id, other_id)
    return bool(resident.household) and resident.household == other.household


def list_residents(
    community_id: str, offset: int, limit: int, uow: IdentityUnitOfWork, *, actor: Principal
) -> tuple[list[Resident], bool]:
    """A page of a community's residents and whether more follow (its social workers)."""
    require_staff(actor, community_id)
    with uow:
        existing_community(uow, community_id)
        residents = uow.residents.list(community_id, offset, limit + 1)
        return residents[:limit], len(residents) > limit


def _earlier_import(uow: IdentityUnitOfWork, cmd: ImportResidents, ref: str) -> ResidentImport:
    return found(uow.imports.get(cmd.community_id, ref), f"resident import {ref}")


@in_actors_community
@idempotent(_earlier_import)
def import_residents(
    cmd: ImportResidents, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> ResidentImport:
    """Register every row, or none (ImportRefused lists the bad rows); social workers only."""
    require_staff(cmd.actor, cmd.community_id)
    existing_community(uow, cmd.community_id)
    units = {unit.id: unit for unit in uow.org_units.list(cmd.community_id)}
    batch = ResidentImport.check(
        cmd.community_id,
        cmd.rows,
        units,
        lambda phone: uow.residents.by_phone(cmd.community_id, phone) is not None,
        clock(),
        cmd.unreadable,
    )
    for resident in batch.residents:
        uow.residents.add(resident)
    uow.imports.add(batch)
    return batch
