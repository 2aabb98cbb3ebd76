"""Special service teams for the elderly and the disabled (O1)."""

from __future__ import annotations

from linli_identity.domain.access import require_staff, require_staff_over
from linli_identity.domain.teams import SpecialTeam
from linli_identity.service_layer.access import in_actors_community, reach_of
from linli_identity.service_layer.commands import ChangeTeamMember, CreateSpecialTeam
from linli_identity.service_layer.lookups import (
    existing_community,
    existing_resident,
    existing_team,
    existing_unit,
)
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent


def _team(
    uow: IdentityUnitOfWork, cmd: CreateSpecialTeam | ChangeTeamMember, ref: str
) -> SpecialTeam:
    return existing_team(uow, cmd.community_id, ref)


@in_actors_community
@idempotent(_team)
def create_special_team(
    cmd: CreateSpecialTeam, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> SpecialTeam:
    """Create a team with its lead as first member (social workers)."""
    require_staff(cmd.actor, cmd.community_id)
    existing_community(uow, cmd.community_id)
    lead = existing_resident(uow, cmd.community_id, cmd.lead_id)
    unit = existing_unit(uow, cmd.community_id, cmd.org_unit_id) if cmd.org_unit_id else None
    team = SpecialTeam.create(cmd.display_name, cmd.served_group, cmd.services, lead, unit, clock())
    uow.teams.add(team)
    return team


@in_actors_community
@idempotent(_team)
def change_team_member(
    cmd: ChangeTeamMember, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> SpecialTeam:
    """Add or remove one member (the member's staff); the team afterwards."""
    team = existing_team(uow, cmd.community_id, cmd.team_id)
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    require_staff_over(cmd.actor, resident, reach_of(uow, cmd.actor, cmd.community_id))
    if cmd.join:
        uow.teams.add_membership(team, team.add_member(resident, clock()))
    else:
        uow.teams.save_departure(team, team.remove_member(resident.id, clock()))
    return team


def list_special_teams(
    community_id: str,
    offset: int,
    limit: int,
    uow: IdentityUnitOfWork,
    member_id: str = "",
    *,
    actor: Principal,
) -> tuple[list[SpecialTeam], bool]:
    """A page of a community's teams, oldest first, and whether more follow; only those a
    resident is now in, if one is named."""
    require_community(actor, community_id)
    with uow:
        existing_community(uow, community_id)
        if member_id:
            existing_resident(uow, community_id, member_id)
        teams = uow.teams.page(community_id, offset, limit + 1, member_id)
    return teams[:limit], len(teams) > limit
