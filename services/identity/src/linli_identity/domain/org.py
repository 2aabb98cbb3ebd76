"""The three-level network (I1): community HQ → grid station → building group, and roles.

The policy's sizes (a grid station serves 300-500 households with 1 head and 5-8 core
volunteers; a building group 20-30 households with a liaison) are soft limits: a unit
outside them still works, and the size report tells staff where to rebalance.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import Aggregate
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from linli_kit.principals import Role

MAX_UNIT_NAME = 50


class OrgLevel(StrEnum):
    """A level of the network."""

    COMMUNITY_HQ = "community_hq"
    GRID_STATION = "grid_station"
    BUILDING_GROUP = "building_group"


PARENT_LEVEL: Mapping[OrgLevel, OrgLevel | None] = {
    OrgLevel.COMMUNITY_HQ: None,
    OrgLevel.GRID_STATION: OrgLevel.COMMUNITY_HQ,
    OrgLevel.BUILDING_GROUP: OrgLevel.GRID_STATION,
}


# The roles identity grants to residents: every role but `partner`, which is a machine's.
GRANTABLE_ROLES = tuple(role for role in Role if role is not Role.PARTNER)


def parse_role(text: str) -> Role:
    """A role by its name, or InvalidArgument listing the valid ones."""
    role = next((role for role in GRANTABLE_ROLES if role.value == text), None)
    if role is None:
        valid = ", ".join(role.value for role in GRANTABLE_ROLES)
        raise InvalidArgument(f"unknown role {text!r}; one of: {valid}")
    return role


@dataclass(frozen=True)
class SizeLimits:
    """Soft limits of one level: households, and how many holders of each role."""

    households: tuple[int, int]
    roles: Mapping[Role, tuple[int, int]]


SOFT_LIMITS: Mapping[OrgLevel, SizeLimits] = {
    OrgLevel.GRID_STATION: SizeLimits(
        households=(300, 500), roles={Role.GRID_HEAD: (1, 1), Role.CORE_VOLUNTEER: (5, 8)}
    ),
    OrgLevel.BUILDING_GROUP: SizeLimits(households=(20, 30), roles={Role.BUILDING_LIAISON: (1, 1)}),
}


@dataclass(kw_only=True, eq=False)
class OrgUnit(Aggregate):
    """A node of a community's network."""

    community_id: str
    id: str
    level: OrgLevel
    display_name: str
    parent_id: str | None
    created_at: datetime

    @classmethod
    def create(
        cls,
        community_id: str,
        level: OrgLevel,
        display_name: str,
        parent: OrgUnit | None,
        at: datetime,
        existing: Iterable[OrgUnit] = (),
    ) -> OrgUnit:
        """A new unit under a parent of the level above; the HQ has none and is the only one."""
        if level is OrgLevel.COMMUNITY_HQ and any(
            unit.level is OrgLevel.COMMUNITY_HQ for unit in existing
        ):
            raise AlreadyExists("the community already has its HQ")
        name = (display_name or "").strip()
        if not name or len(name) > MAX_UNIT_NAME:
            raise InvalidArgument(f"display_name is required, at most {MAX_UNIT_NAME} characters")
        expected = PARENT_LEVEL[level]
        if expected is None and parent is not None:
            raise InvalidArgument("a community HQ has no parent")
        if expected is not None and (parent is None or parent.level is not expected):
            raise InvalidArgument(f"a {level.value} belongs under a {expected.value}")
        if parent is not None and parent.community_id != community_id:
            raise InvalidArgument("the parent unit is in another community")
        return cls(
            community_id=community_id,
            id=f"u{uuid.uuid4().hex[:16]}",
            level=level,
            display_name=name,
            parent_id=None if parent is None else parent.id,
            created_at=at,
        )


def check_role_placement(role: Role, home: OrgUnit | None) -> None:
    """Roles tied to a level need a home unit at that level (a grid head lives in a grid)."""
    needs = {
        Role.GRID_HEAD: (OrgLevel.GRID_STATION, OrgLevel.BUILDING_GROUP),
        Role.BUILDING_LIAISON: (OrgLevel.BUILDING_GROUP,),
    }.get(role)
    if needs is not None and (home is None or home.level not in needs):
        raise FailedPrecondition(
            f"a {role.value} needs a home unit in a {' or '.join(n.value for n in needs)}"
        )


@dataclass(frozen=True)
class UnitSize:
    """One unit's size and role holders (over its whole subtree), with soft-limit warnings."""

    unit: OrgUnit
    households: int
    roles: Mapping[Role, int]
    warnings: tuple[str, ...]


def size_report(unit: OrgUnit, households: int, roles: Mapping[Role, int]) -> UnitSize:
    """Compare a unit with its level's soft limits; warnings say what is out of range."""
    limits = SOFT_LIMITS.get(unit.level)
    warnings: list[str] = []
    if limits is not None:
        low, high = limits.households
        if not low <= households <= high:
            warnings.append(f"{households} households (policy: {low}-{high})")
        for role, (low, high) in limits.roles.items():
            count = roles.get(role, 0)
            if not low <= count <= high:
                span = str(low) if low == high else f"{low}-{high}"
                warnings.append(f"{count} {role.value} (policy: {span})")
    return UnitSize(unit, households, dict(roles), tuple(warnings))
