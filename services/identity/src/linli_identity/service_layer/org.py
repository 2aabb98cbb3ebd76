"""The network of org units, roles, and the soft-limit size report (I1)."""

from __future__ import annotations

from linli_identity.domain.access import require_may_change_role, require_staff
from linli_identity.domain.mentoring import PROMOTED_ROLES
from linli_identity.domain.org import OrgUnit, Role, UnitSize, size_report
from linli_identity.domain.residents import Resident
from linli_identity.service_layer.access import in_actors_community
from linli_identity.service_layer.commands import ChangeRole, CreateOrgUnit
from linli_identity.service_layer.lookups import (
    existing_community,
    existing_resident,
    existing_unit,
)
from linli_identity.service_layer.mentoring import newcomer_promoted
from linli_identity.service_layer.ports import IdentityUnitOfWork, SubtreeCounts
from linli_identity.service_layer.sessions import revoke_sessions
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import SYSTEM, Principal, require_community
from linli_kit.usecases import idempotent


@in_actors_community
@idempotent(lambda uow, cmd, ref: existing_unit(uow, cmd.community_id, ref))
def create_org_unit(cmd: CreateOrgUnit, uow: IdentityUnitOfWork, clock: Clock = utc_now) -> OrgUnit:
    """Create a unit under its parent (social workers); one HQ per community."""
    require_staff(cmd.actor, cmd.community_id)
    existing_community(uow, cmd.community_id)
    parent = existing_unit(uow, cmd.community_id, cmd.parent_id) if cmd.parent_id else None
    unit = OrgUnit.create(
        cmd.community_id,
        cmd.level,
        cmd.display_name,
        parent,
        clock(),
        uow.org_units.list(cmd.community_id),
    )
    uow.org_units.add(unit)
    return unit


def list_org_units(
    community_id: str, offset: int, limit: int, uow: IdentityUnitOfWork, *, actor: Principal
) -> tuple[list[OrgUnit], bool]:
    """A page of a community's units, top level first, and whether more follow (for the
    community's people)."""
    require_community(actor, community_id)
    with uow:
        existing_community(uow, community_id)
        units = uow.org_units.page(community_id, offset, limit + 1)
    return units[:limit], len(units) > limit


@in_actors_community
@idempotent(lambda uow, cmd, ref: existing_resident(uow, cmd.community_id, ref))
def change_role(cmd: ChangeRole, uow: IdentityUnitOfWork, clock: Clock = utc_now) -> Resident:
    """Grant or revoke a role and end the person's sessions; a no-op if nothing changes."""
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    require_may_change_role(cmd.actor, resident, cmd.role)
    home = (
        existing_unit(uow, cmd.community_id, resident.home_unit_id)
        if resident.home_unit_id
        else None
    )
    by = "system" if cmd.actor is SYSTEM else cmd.actor.subject
    now = clock()
    changed = (
        resident.grant_role(cmd.role, home, by, now)
        if cmd.grant
        else resident.revoke_role(cmd.role, by, now)
    )
    if not changed:
        return resident
    uow.residents.save_roles(resident)
    how = "granted" if cmd.grant else "revoked"
    revoke_sessions(uow, resident, f"role {cmd.role.value} {how}", now)
    if cmd.grant and cmd.role in PROMOTED_ROLES:
        newcomer_promoted(uow, resident, now)
    return resident


def org_size_report(
    community_id: str, offset: int, limit: int, uow: IdentityUnitOfWork, *, actor: Principal
) -> tuple[list[UnitSize], bool]:
    """A page of units (top level first) with their households and role holders over their
    subtrees, against the soft limits, and whether more follow."""
    require_staff(actor, community_id, Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON)
    with uow:
        existing_community(uow, community_id)
        units = uow.org_units.page(community_id, offset, limit + 1)
        counts = uow.residents.subtree_counts(community_id, [u.id for u in units[:limit]])
    empty = SubtreeCounts(0, {})
    sizes = [size_report(u, *counts.get(u.id, empty)) for u in units[:limit]]
    return sizes, len(units) > limit
