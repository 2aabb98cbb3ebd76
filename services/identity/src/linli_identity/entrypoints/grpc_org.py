"""IdentityService RPCs of the org network: units, roles, mentoring, special teams (I1, O1-O2)."""

from __future__ import annotations

import asyncio

import grpc
from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.domain import names
from linli_identity.domain.org import parse_role
from linli_identity.domain.residents import Resident
from linli_identity.domain.teams import SpecialTeam
from linli_identity.entrypoints.grpc_base import ServicerBase
from linli_identity.entrypoints.messages import (
    GROUPS_IN,
    LEVELS_IN,
    SERVICES_IN,
    pair_message,
    resident_message,
    size_message,
    team_message,
    unit_message,
)
from linli_identity.service_layer import mentoring, org, teams
from linli_identity.service_layer.commands import (
    ChangeRole,
    ChangeTeamMember,
    CreateOrgUnit,
    CreateSpecialTeam,
    StartMentoring,
)
from linli_kit import auth
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import Role, current_principal

# Who may call each RPC (deny by default); the use cases check whose records (domain.access).
POLICY: auth.Policy = {
    "CreateOrgUnit": auth.persons(Role.SOCIAL_WORKER),
    "ListOrgUnits": auth.persons(),
    "ReportOrgUnitSizes": auth.persons(Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON),
    "GrantRole": auth.persons(Role.SOCIAL_WORKER, Role.SRE),
    "RevokeRole": auth.persons(Role.SOCIAL_WORKER, Role.SRE),
    "StartMentoring": auth.persons(Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON),
    "ListMentoringPairs": auth.persons(),
    "CreateSpecialTeam": auth.persons(Role.SOCIAL_WORKER),
    "AddTeamMember": auth.persons(Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON),
    "RemoveTeamMember": auth.persons(Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON),
    "ListSpecialTeams": auth.persons(),
}


class OrgRpcs(ServicerBase):
    """Org units, roles, mentoring pairs and special teams over gRPC."""

    async def CreateOrgUnit(
        self, request: pb.CreateOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrgUnitResponse:
        """Add a unit to the network."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        if request.level not in LEVELS_IN:
            raise InvalidArgument("level must be one of the ORG_LEVEL_* values")
        above = (
            names.ORG_UNIT.parse(request.parent_unit, "parent_unit")
            if request.parent_unit
            else None
        )
        if above is not None and above["community"] != ids["community"]:
            raise InvalidArgument("parent_unit must be in the same community")
        command = CreateOrgUnit(
            ids["community"],
            LEVELS_IN[request.level],
            request.display_name,
            above["unit"] if above else "",
            request.request_id,
            actor=current_principal(),
        )
        unit = await asyncio.to_thread(org.create_org_unit, command, self.uow_factory(), self.clock)
        return pb.CreateOrgUnitResponse(org_unit=unit_message(unit))

    async def ListOrgUnits(
        self, request: pb.ListOrgUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrgUnitsResponse:
        """A page of a community's units."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        units, more = await asyncio.to_thread(
            org.list_org_units,
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ListOrgUnitsResponse(
            org_units=[unit_message(u) for u in units],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ReportOrgUnitSizes(
        self, request: pb.ReportOrgUnitSizesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReportOrgUnitSizesResponse:
        """A page of units' sizes against the soft limits."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        sizes, more = await asyncio.to_thread(
            org.org_size_report,
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ReportOrgUnitSizesResponse(
            sizes=[size_message(s) for s in sizes],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def GrantRole(
        self, request: pb.GrantRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.GrantRoleResponse:
        """Grant a role."""
        resident = await self._change_role(request.resident, request.role, True, request.request_id)
        return pb.GrantRoleResponse(resident=resident_message(resident))

    async def RevokeRole(
        self, request: pb.RevokeRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeRoleResponse:
        """Revoke a role."""
        resident = await self._change_role(
            request.resident, request.role, False, request.request_id
        )
        return pb.RevokeRoleResponse(resident=resident_message(resident))

    async def _change_role(self, name: str, role: str, grant: bool, request_id: str) -> Resident:
        ids = names.RESIDENT.parse(name, "resident")
        command = ChangeRole(
            ids["community"],
            ids["resident"],
            parse_role(role),
            grant,
            request_id,
            actor=current_principal(),
        )
        return await asyncio.to_thread(org.change_role, command, self.uow_factory(), self.clock)

    async def StartMentoring(
        self, request: pb.StartMentoringRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartMentoringResponse:
        """Pair a core volunteer with a newcomer."""
        mentor = names.RESIDENT.parse(request.mentor, "mentor")
        newcomer = names.RESIDENT.parse(request.newcomer, "newcomer")
        if mentor["community"] != newcomer["community"]:
            raise InvalidArgument("mentor and newcomer must be in the same community")
        command = StartMentoring(
            mentor["community"],
            mentor["resident"],
            newcomer["resident"],
            request.request_id,
            actor=current_principal(),
        )
        pair = await asyncio.to_thread(
            mentoring.start_mentoring, command, self.uow_factory(), self.clock
        )
        return pb.StartMentoringResponse(pair=pair_message(pair))

    async def ListMentoringPairs(
        self, request: pb.ListMentoringPairsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMentoringPairsResponse:
        """A page of a resident's mentoring pairs."""
        ids = names.RESIDENT.parse(request.resident, "resident")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        pairs, more = await asyncio.to_thread(
            mentoring.list_mentoring_pairs,
            ids["community"],
            ids["resident"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ListMentoringPairsResponse(
            pairs=[pair_message(p) for p in pairs],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreateSpecialTeam(
        self, request: pb.CreateSpecialTeamRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSpecialTeamResponse:
        """Form a special service team."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        lead = names.RESIDENT.parse(request.lead, "lead")
        unit = names.ORG_UNIT.parse(request.org_unit, "org_unit") if request.org_unit else None
        if lead["community"] != ids["community"] or (
            unit is not None and unit["community"] != ids["community"]
        ):
            raise InvalidArgument("lead and org_unit must be in the team's community")
        if request.served_group not in GROUPS_IN:
            raise InvalidArgument("served_group must be one of the SERVED_GROUP_* values")
        if any(service not in SERVICES_IN for service in request.services):
            raise InvalidArgument("services must be TEAM_SERVICE_* values")
        command = CreateSpecialTeam(
            ids["community"],
            request.display_name,
            GROUPS_IN[request.served_group],
            tuple(SERVICES_IN[service] for service in request.services),
            lead["resident"],
            unit["unit"] if unit else "",
            request.request_id,
            actor=current_principal(),
        )
        team = await asyncio.to_thread(
            teams.create_special_team, command, self.uow_factory(), self.clock
        )
        return pb.CreateSpecialTeamResponse(team=team_message(team))

    async def AddTeamMember(
        self, request: pb.AddTeamMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddTeamMemberResponse:
        """Add a volunteer to a team."""
        team = await self._change_member(request.team, request.resident, True, request.request_id)
        return pb.AddTeamMemberResponse(team=team_message(team))

    async def RemoveTeamMember(
        self, request: pb.RemoveTeamMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveTeamMemberResponse:
        """Record that a member left a team."""
        team = await self._change_member(request.team, request.resident, False, request.request_id)
        return pb.RemoveTeamMemberResponse(team=team_message(team))

    async def _change_member(
        self, team_name: str, member_name: str, join: bool, request_id: str
    ) -> SpecialTeam:
        team = names.SPECIAL_TEAM.parse(team_name, "team")
        resident = names.RESIDENT.parse(member_name, "resident")
        if resident["community"] != team["community"]:
            raise InvalidArgument("the resident must be in the team's community")
        command = ChangeTeamMember(
            team["community"],
            team["team"],
            resident["resident"],
            join,
            request_id,
            actor=current_principal(),
        )
        return await asyncio.to_thread(
            teams.change_team_member, command, self.uow_factory(), self.clock
        )

    async def ListSpecialTeams(
        self, request: pb.ListSpecialTeamsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSpecialTeamsResponse:
        """A page of a community's special teams with their members."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        member = names.RESIDENT.parse(request.member, "member") if request.member else None
        if member is not None and member["community"] != ids["community"]:
            raise InvalidArgument("member must be in the same community")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            teams.list_special_teams,
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
            member["resident"] if member else "",
            actor=current_principal(),
        )
        return pb.ListSpecialTeamsResponse(
            teams=[team_message(team, request.show_former_members) for team in found],
            next_page_token=next_page_token(offset, limit, more),
        )
