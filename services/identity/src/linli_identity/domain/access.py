"""Who may act on whose records in identity (ARCHITECTURE §5): the object-level rules.

The policy table beside each servicer says which kinds and roles may call an RPC at all;
these rules decide on the records themselves:

- A caller from another community learns nothing of this one: NotFound.
- A resident sees and acts on their own record, consent, face and mentoring pairs.
- A social worker acts for the whole community; a grid head for the residents whose home
  unit lies in their grid station (the station they live in, or above their building
  group), a building liaison for those of their building group.
- Phone numbers, birth dates and households are shown to the resident and their staff only.
- Roles: nobody changes their own; only an sre grants or revokes sre; only a social worker
  grants or revokes the other roles. A password is set by its owner, or by someone who could
  grant every role its owner holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from linli_identity.domain.org import OrgLevel, OrgUnit, Role
from linli_identity.domain.residents import Resident
from linli_kit.errors import PermissionDenied
from linli_kit.principals import SYSTEM, Kind, Principal, require_community

# Who may grant or revoke a role: sre alone for sre, a social worker for every other one.
GRANTED_BY = {role: (Role.SOCIAL_WORKER,) for role in Role} | {Role.SRE: (Role.SRE,)}


@dataclass(frozen=True)
class Reach:
    """The residents a caller acts for as staff: everyone, those of some units, or nobody."""

    everyone: bool = False
    units: frozenset[str] = frozenset()

    def covers(self, home_unit_id: str | None) -> bool:
        """Whether a resident living in the unit is within reach."""
        return self.everyone or (home_unit_id is not None and home_unit_id in self.units)


EVERYONE = Reach(everyone=True)
NOBODY = Reach()


def staff_reach(actor: Principal, home: OrgUnit | None, units: Iterable[OrgUnit]) -> Reach:
    """Whose records a caller handles as staff, given the org unit they live in."""
    if (
        actor is SYSTEM
        or actor.is_machine
        or (actor.is_staff and actor.has_role(Role.SOCIAL_WORKER))
    ):
        return EVERYONE
    units = list(units)
    by_id = {unit.id: unit for unit in units}
    tops = []
    if home is not None and actor.has_role(Role.GRID_HEAD):
        station = home if home.level is OrgLevel.GRID_STATION else by_id.get(home.parent_id or "")
        if station is not None and station.level is OrgLevel.GRID_STATION:
            tops.append(station.id)
    liaison = actor.has_role(Role.BUILDING_LIAISON)
    if home is not None and liaison and home.level is OrgLevel.BUILDING_GROUP:
        tops.append(home.id)
    return Reach(units=frozenset(_subtrees(tops, units)))


def _subtrees(tops: list[str], units: list[OrgUnit]) -> set[str]:
    reached = set(tops)
    grew = True
    while grew:
        below = {u.id for u in units if u.parent_id in reached and u.id not in reached}
        reached |= below
        grew = bool(below)
    return reached


def require_may_create_community(actor: Principal) -> None:
    """Communities are created by an sre (or the operator's bootstrap command)."""
    if not (actor is SYSTEM or (actor.kind is Kind.PERSON and actor.has_role(Role.SRE))):
        raise PermissionDenied("only an sre creates communities")


def require_staff_over(actor: Principal, resident: Resident, reach: Reach) -> None:
    """The resident's staff (or a trusted service); another community is NotFound."""
    require_community(actor, resident.community_id)
    if actor is SYSTEM or actor.is_machine:
        return
    if not (actor.is_staff and reach.covers(resident.home_unit_id)):
        raise PermissionDenied("only the resident's staff may do this")


def require_self_or_staff_over(
    actor: Principal, resident: Resident, reach: Reach, *also: str
) -> None:
    """The resident themself (or one of `also`, e.g. their guardian), or their staff."""
    require_community(actor, resident.community_id)
    if actor.is_resident(resident.community_id, resident.id):
        return
    if any(actor.is_resident(resident.community_id, other) for other in also if other):
        return
    if actor.is_machine and actor is not SYSTEM:
        raise PermissionDenied("only the resident or their staff may do this")
    try:
        require_staff_over(actor, resident, reach)
    except PermissionDenied:
        raise PermissionDenied("only the resident or their staff may do this") from None


def require_staff(actor: Principal, community_id: str, *roles: Role) -> None:
    """Staff of the community holding one of the roles (social worker when none are named)."""
    require_community(actor, community_id)
    if actor is SYSTEM:
        return
    if not actor.has_role(*(roles or (Role.SOCIAL_WORKER,))):
        raise PermissionDenied("only the community's staff may do this")


def sees_contact_details(actor: Principal, resident: Resident, reach: Reach) -> bool:
    """Whether the caller may see the resident's phone, birth date and household."""
    if actor is SYSTEM or actor.is_resident(resident.community_id, resident.id):
        return True
    return (
        actor.is_staff
        and actor.community == resident.community_id
        and (reach.covers(resident.home_unit_id))
    )


def require_may_verify_face(actor: Principal, community_id: str, resident_id: str) -> None:
    """A face is checked against its resident by the resident or one of the community's kiosks."""
    require_community(actor, community_id)
    if not (actor.is_machine or actor.is_resident(community_id, resident_id)):
        raise PermissionDenied("only the resident or a kiosk service may verify their face")


def require_may_identify_face(actor: Principal, community_id: str) -> None:
    """Only the community's services identify a face: a person must not turn a photo into a name."""
    require_community(actor, community_id)
    if not actor.is_machine:
        raise PermissionDenied("only the community's services may identify a face")


def redacted(resident: Resident) -> Resident:
    """A copy of the resident without phone, birth date and household."""
    return dataclasses.replace(
        resident, phone="", birth_date=None, household="", roles=set(resident.roles)
    )


def require_may_change_role(actor: Principal, resident: Resident, role: Role) -> None:
    """Nobody changes their own roles; sre by an sre, every other role by a social worker."""
    require_community(actor, resident.community_id)
    if actor is SYSTEM:
        return
    if actor.is_resident(resident.community_id, resident.id):
        raise PermissionDenied("nobody grants or revokes their own roles")
    if not (actor.kind is Kind.PERSON and actor.has_role(*GRANTED_BY[role])):
        needed = " or ".join(r.value for r in GRANTED_BY[role])
        raise PermissionDenied(f"only a {needed} may grant or revoke {role.value}")


def require_may_set_password(actor: Principal, resident: Resident) -> None:
    """The staff member themself, or someone who could grant every role they hold."""
    require_community(actor, resident.community_id)
    if actor is SYSTEM or actor.is_resident(resident.community_id, resident.id):
        return
    for role in resident.roles:
        if not (actor.kind is Kind.PERSON and actor.has_role(*GRANTED_BY[role])):
            raise PermissionDenied(f"only a holder of every role of {resident.id} may reset it")
