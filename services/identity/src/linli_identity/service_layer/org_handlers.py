"""The network of org units, roles, and the soft-limit size report (I1)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from linli_identity.domain.mentoring import PROMOTED_ROLES, MentoringPair
from linli_identity.domain.org import OrgLevel, OrgUnit, Role, UnitSize, size_report
from linli_identity.domain.residents import Resident
from linli_identity.service_layer.handlers import existing_community, get_resident_in
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, NotFound


@dataclass(frozen=True)
class CreateOrgUnit:
    """Add a unit to a community's network."""

    community_id: str
    level: OrgLevel
    display_name: str
    parent_id: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class ChangeRole:
    """Grant (or revoke) one role of a resident."""

    community_id: str
    resident_id: str
    role: Role
    grant: bool
    request_id: str = ""


def create_org_unit(cmd: CreateOrgUnit, uow: IdentityUnitOfWork, clock: Clock = utc_now) -> OrgUnit:
    """Create a unit under its parent; one HQ per community; retries replay the first result."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return existing_unit(uow, cmd.community_id, done)
        existing_community(uow, cmd.community_id)
        parent = existing_unit(uow, cmd.community_id, cmd.parent_id) if cmd.parent_id else None
        if cmd.level is OrgLevel.COMMUNITY_HQ and any(
            unit.level is OrgLevel.COMMUNITY_HQ for unit in uow.org_units.list(cmd.community_id)
        ):
            raise AlreadyExists("the community already has its HQ")
        unit = OrgUnit.create(cmd.community_id, cmd.level, cmd.display_name, parent, clock())
        uow.org_units.add(unit)
        uow.requests.remember(cmd, unit.id)
        uow.commit()
        return unit


def list_org_units(community_id: str, uow: IdentityUnitOfWork) -> list[OrgUnit]:
    """A community's units, top level first."""
    with uow:
        existing_community(uow, community_id)
        return uow.org_units.list(community_id)


def change_role(cmd: ChangeRole, uow: IdentityUnitOfWork, clock: Clock = utc_now) -> Resident:
    """Grant or revoke a role; granting one already held (or revoking one not held) is a no-op."""
    with uow:
        if uow.requests.replay(cmd) is not None:
            return get_resident_in(uow, cmd.community_id, cmd.resident_id)
        resident = get_resident_in(uow, cmd.community_id, cmd.resident_id)
        home = (
            existing_unit(uow, cmd.community_id, resident.home_unit_id)
            if resident.home_unit_id
            else None
        )
        changed = (
            resident.grant_role(cmd.role, home) if cmd.grant else resident.revoke_role(cmd.role)
        )
        if changed:
            uow.residents.save_roles(resident)
        if changed and cmd.grant and cmd.role in PROMOTED_ROLES:
            _newcomer_promoted(uow, resident, clock())
        uow.requests.remember(cmd, resident.id)
        uow.commit()
        return resident


def org_size_report(community_id: str, uow: IdentityUnitOfWork) -> list[UnitSize]:
    """Every unit's households and role holders over its subtree, against the soft limits."""
    with uow:
        existing_community(uow, community_id)
        units = uow.org_units.list(community_id)
        members = uow.residents.memberships(community_id)
    parent = {unit.id: unit.parent_id for unit in units}
    households: dict[str, set[str]] = {unit.id: set() for unit in units}
    roles: dict[str, Counter[Role]] = {unit.id: Counter() for unit in units}
    for home, household, held in members:
        # A resident counts in their home unit and in every unit above it.
        node = home
        while node is not None and node in parent:
            if household:
                households[node].add(household)
            roles[node].update(held)
            node = parent[node]
    return [size_report(unit, len(households[unit.id]), roles[unit.id]) for unit in units]


def existing_unit(uow: IdentityUnitOfWork, community_id: str, unit_id: str) -> OrgUnit:
    """A unit within an open unit of work, or NotFound."""
    unit = uow.org_units.get(community_id, unit_id)
    if unit is None:
        raise NotFound(f"communities/{community_id}/orgUnits/{unit_id} does not exist")
    return unit


@dataclass(frozen=True)
class StartMentoring:
    """Pair a core volunteer with a newcomer."""

    community_id: str
    mentor_id: str
    newcomer_id: str
    request_id: str = ""


def start_mentoring(
    cmd: StartMentoring, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> MentoringPair:
    """Start a pair (at most 3 open per mentor, one per newcomer); retries replay the first."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            pairs = uow.mentoring.of_resident(cmd.community_id, cmd.mentor_id)
            return next(pair for pair in pairs if pair.id == done)
        mentor = get_resident_in(uow, cmd.community_id, cmd.mentor_id)
        newcomer = get_resident_in(uow, cmd.community_id, cmd.newcomer_id)
        mentor_pairs = uow.mentoring.of_resident(cmd.community_id, mentor.id)
        newcomer_pairs = uow.mentoring.of_resident(cmd.community_id, newcomer.id)
        pair = MentoringPair.start(
            mentor,
            newcomer,
            [p for p in mentor_pairs if p.mentor_id == mentor.id],
            [p for p in newcomer_pairs if p.newcomer_id == newcomer.id],
            clock(),
        )
        uow.mentoring.add(pair)
        uow.requests.remember(cmd, pair.id)
        uow.commit()
        return pair


def list_mentoring_pairs(
    community_id: str, resident_id: str, uow: IdentityUnitOfWork
) -> list[MentoringPair]:
    """The pairs a resident mentors or is mentored in, oldest first."""
    with uow:
        get_resident_in(uow, community_id, resident_id)
        return uow.mentoring.of_resident(community_id, resident_id)


def _newcomer_promoted(uow: IdentityUnitOfWork, newcomer: Resident, at: datetime) -> None:
    for pair in uow.mentoring.of_resident(newcomer.community_id, newcomer.id):
        if pair.newcomer_id == newcomer.id and pair.newcomer_promoted(at):
            uow.mentoring.save(pair)
