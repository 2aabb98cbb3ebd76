"""Special service teams for the elderly and the disabled (O1)."""

from __future__ import annotations

from dataclasses import dataclass

from linli_identity.domain.teams import ServedGroup, SpecialTeam, TeamService
from linli_identity.service_layer.handlers import existing_community, get_resident_in
from linli_identity.service_layer.org_handlers import existing_unit
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound


@dataclass(frozen=True)
class CreateSpecialTeam:
    """Form a team led by a volunteer."""

    community_id: str
    display_name: str
    served_group: ServedGroup
    services: tuple[TeamService, ...]
    lead_id: str
    org_unit_id: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class ChangeTeamMember:
    """Add a volunteer to a team (join) or record that a member left."""

    community_id: str
    team_id: str
    resident_id: str
    join: bool
    request_id: str = ""


def create_special_team(
    cmd: CreateSpecialTeam, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> SpecialTeam:
    """Create a team with its lead as first member; retries replay the first result."""
    with uow:
        if (done := uow.requests.replay(cmd)) is not None:
            return existing_team(uow, cmd.community_id, done)
        existing_community(uow, cmd.community_id)
        lead = get_resident_in(uow, cmd.community_id, cmd.lead_id)
        unit = existing_unit(uow, cmd.community_id, cmd.org_unit_id) if cmd.org_unit_id else None
        team = SpecialTeam.create(
            cmd.display_name, cmd.served_group, cmd.services, lead, unit, clock()
        )
        uow.teams.add(team)
        uow.requests.remember(cmd, team.id)
        uow.commit()
        return team


def change_team_member(
    cmd: ChangeTeamMember, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> SpecialTeam:
    """Add or remove one member; the team afterwards. Retries replay without a second change."""
    with uow:
        team = existing_team(uow, cmd.community_id, cmd.team_id)
        if uow.requests.replay(cmd) is not None:
            return team
        resident = get_resident_in(uow, cmd.community_id, cmd.resident_id)
        if cmd.join:
            uow.teams.add_membership(team, team.add_member(resident, clock()))
        else:
            uow.teams.save_departure(team, team.remove_member(resident.id, clock()))
        uow.requests.remember(cmd, team.id)
        uow.commit()
        return team


def list_special_teams(
    community_id: str, uow: IdentityUnitOfWork, member_id: str = ""
) -> list[SpecialTeam]:
    """A community's teams, oldest first; only those a resident is now in, if one is named."""
    with uow:
        existing_community(uow, community_id)
        if member_id:
            get_resident_in(uow, community_id, member_id)
        teams = uow.teams.list(community_id)
    if member_id:
        teams = [team for team in teams if team.membership_of(member_id) is not None]
    return teams


def existing_team(uow: IdentityUnitOfWork, community_id: str, team_id: str) -> SpecialTeam:
    """A team within an open unit of work, or NotFound."""
    team = uow.teams.get(community_id, team_id)
    if team is None:
        raise NotFound(f"communities/{community_id}/specialTeams/{team_id} does not exist")
    return team
