"""Special service teams (O1, 专项服务队) for the elderly and the disabled.

A team gives home visits (上门帮扶) and/or counselling (心理疏导) to one group. Its lead and
members are volunteers (or core volunteers) of the team's community. A resident may belong to
several teams but to each only once at a time; leaving closes the membership, which is kept
as history, and the resident may join again later with a new membership.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from linli_identity.domain.org import OrgUnit, Role
from linli_identity.domain.residents import Resident
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

MAX_TEAM_NAME = 50
MEMBER_ROLES = frozenset({Role.VOLUNTEER, Role.CORE_VOLUNTEER})


class ServedGroup(StrEnum):
    """Who a team serves."""

    ELDERLY = "elderly"
    DISABLED = "disabled"


class TeamService(StrEnum):
    """What a team does for them."""

    HOME_VISIT = "home_visit"
    COUNSELLING = "counselling"


@dataclass(frozen=True, kw_only=True)
class SpecialTeamMemberJoined(DomainEvent):
    """A volunteer joined a special team."""

    team_id: str
    resident_id: str
    served_group: ServedGroup
    services: tuple[TeamService, ...]


@dataclass(frozen=True, kw_only=True)
class SpecialTeamMemberLeft(DomainEvent):
    """A member left a special team."""

    team_id: str
    resident_id: str


@dataclass(kw_only=True, eq=False)
class TeamMembership:
    """One resident's time in a team; left_at is None while they are a member."""

    id: str
    resident_id: str
    joined_at: datetime
    left_at: datetime | None = None

    @property
    def current(self) -> bool:
        """True until the member leaves."""
        return self.left_at is None


@dataclass(kw_only=True, eq=False)
class SpecialTeam(Aggregate):
    """A team serving the elderly or the disabled, with its membership history."""

    community_id: str
    id: str
    display_name: str
    served_group: ServedGroup
    services: tuple[TeamService, ...]
    lead_id: str
    org_unit_id: str | None
    created_at: datetime
    memberships: list[TeamMembership] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        display_name: str,
        served_group: ServedGroup,
        services: Iterable[TeamService],
        lead: Resident,
        unit: OrgUnit | None,
        at: datetime,
    ) -> SpecialTeam:
        """A new team whose first member is its lead."""
        name = (display_name or "").strip()
        if not name or len(name) > MAX_TEAM_NAME:
            raise InvalidArgument(f"display_name is required, at most {MAX_TEAM_NAME} characters")
        offered = tuple(sorted(set(services), key=list(TeamService).index))
        if not offered:
            raise InvalidArgument("a team gives at least one service")
        if unit is not None and unit.community_id != lead.community_id:
            raise InvalidArgument("the org unit is in another community")
        team = cls(
            community_id=lead.community_id,
            id=f"t{uuid.uuid4().hex[:16]}",
            display_name=name,
            served_group=served_group,
            services=offered,
            lead_id=lead.id,
            org_unit_id=None if unit is None else unit.id,
            created_at=at,
        )
        team.add_member(lead, at)
        return team

    def current_members(self) -> list[TeamMembership]:
        """The memberships not yet ended, earliest joiner first."""
        return [m for m in self.memberships if m.current]

    def membership_of(self, resident_id: str) -> TeamMembership | None:
        """The resident's current membership, or None."""
        return next((m for m in self.current_members() if m.resident_id == resident_id), None)

    def add_member(self, resident: Resident, at: datetime) -> TeamMembership:
        """Let a volunteer of the team's community join; once at a time."""
        if resident.community_id != self.community_id:
            raise InvalidArgument("a team member must live in the team's community")
        if not resident.roles & MEMBER_ROLES:
            raise FailedPrecondition("only volunteers and core volunteers join a special team")
        if self.membership_of(resident.id) is not None:
            raise AlreadyExists("the resident is already a member of this team")
        membership = TeamMembership(
            id=f"j{uuid.uuid4().hex[:16]}", resident_id=resident.id, joined_at=at
        )
        self.memberships.append(membership)
        self.events.append(
            SpecialTeamMemberJoined(
                community_id=self.community_id,
                occurred_at=at,
                team_id=self.id,
                resident_id=resident.id,
                served_group=self.served_group,
                services=self.services,
            )
        )
        return membership

    def remove_member(self, resident_id: str, at: datetime) -> TeamMembership:
        """End a member's current membership; the lead stays while they lead."""
        membership = self.membership_of(resident_id)
        if membership is None:
            raise NotFound("the resident is not a current member of this team")
        if resident_id == self.lead_id:
            raise FailedPrecondition("the lead cannot leave the team they lead")
        membership.left_at = at
        self.events.append(
            SpecialTeamMemberLeft(
                community_id=self.community_id,
                occurred_at=at,
                team_id=self.id,
                resident_id=resident_id,
            )
        )
        return membership
