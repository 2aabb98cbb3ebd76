"""The IdentityService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters import resident_csv
from linli_identity.domain.consent import FaceConsent, FaceEnrolment
from linli_identity.domain.liveness import Challenge
from linli_identity.domain.mentoring import MentoringPair
from linli_identity.domain.org import OrgLevel, OrgUnit, parse_role
from linli_identity.domain.residents import Community, Resident, parse_birth_date
from linli_identity.domain.teams import ServedGroup, SpecialTeam, TeamService
from linli_identity.service_layer import (
    face_handlers,
    handlers,
    org_handlers,
    resident_import,
    team_handlers,
)
from linli_identity.service_layer.face_port import FaceEngine, Galleries
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, encode_page_token, page_size, parse_name

COMMUNITY = "communities/{community}"
RESIDENT = "communities/{community}/residents/{resident}"
ORG_UNIT = "communities/{community}/orgUnits/{unit}"
TEAM = "communities/{community}/specialTeams/{team}"
LEVELS_IN = {
    pb.ORG_LEVEL_COMMUNITY_HQ: OrgLevel.COMMUNITY_HQ,
    pb.ORG_LEVEL_GRID_STATION: OrgLevel.GRID_STATION,
    pb.ORG_LEVEL_BUILDING_GROUP: OrgLevel.BUILDING_GROUP,
}
LEVELS_OUT = {level: number for number, level in LEVELS_IN.items()}
GROUPS_IN = {
    pb.SERVED_GROUP_ELDERLY: ServedGroup.ELDERLY,
    pb.SERVED_GROUP_DISABLED: ServedGroup.DISABLED,
}
GROUPS_OUT = {group: number for number, group in GROUPS_IN.items()}
SERVICES_IN = {
    pb.TEAM_SERVICE_HOME_VISIT: TeamService.HOME_VISIT,
    pb.TEAM_SERVICE_COUNSELLING: TeamService.COUNSELLING,
}
SERVICES_OUT = {service: number for number, service in SERVICES_IN.items()}
CHALLENGES = {
    pb.LIVENESS_CHALLENGE_BLINK: Challenge.BLINK,
    pb.LIVENESS_CHALLENGE_HEAD_TURN: Challenge.HEAD_TURN,
}


def community_message(community: Community) -> pb.Community:
    """A community as its protobuf message."""
    message = pb.Community(name=f"communities/{community.id}", display_name=community.display_name)
    message.create_time.FromDatetime(community.created_at)
    return message


def resident_message(resident: Resident) -> pb.Resident:
    """A resident as its protobuf message."""
    message = pb.Resident(
        name=f"communities/{resident.community_id}/residents/{resident.id}",
        display_name=resident.display_name,
        phone=resident.phone,
        org_unit=resident.org_unit,
    )
    message.create_time.FromDatetime(resident.created_at)
    if resident.birth_date is not None:
        message.birth_date = resident.birth_date.isoformat()
    message.household = resident.household
    if resident.home_unit_id:
        message.home_unit = unit_name(resident.community_id, resident.home_unit_id)
    message.roles.extend(sorted(role.value for role in resident.roles))
    return message


def pair_message(pair: MentoringPair) -> pb.MentoringPair:
    """A mentoring pair as its protobuf message."""
    message = pb.MentoringPair(
        name=f"communities/{pair.community_id}/mentoringPairs/{pair.id}",
        mentor=resident_name(pair.community_id, pair.mentor_id),
        newcomer=resident_name(pair.community_id, pair.newcomer_id),
    )
    message.start_time.FromDatetime(pair.started_at)
    if pair.succeeded_at is not None:
        message.success_time.FromDatetime(pair.succeeded_at)
    return message


def unit_name(community_id: str, unit_id: str) -> str:
    """The resource name of an org unit."""
    return f"communities/{community_id}/orgUnits/{unit_id}"


def unit_message(unit: OrgUnit) -> pb.OrgUnit:
    """An org unit as its protobuf message."""
    message = pb.OrgUnit(
        name=unit_name(unit.community_id, unit.id),
        level=LEVELS_OUT[unit.level],
        display_name=unit.display_name,
        parent_unit=unit_name(unit.community_id, unit.parent_id) if unit.parent_id else "",
    )
    message.create_time.FromDatetime(unit.created_at)
    return message


def team_message(team: SpecialTeam, show_former: bool = False) -> pb.SpecialTeam:
    """A special team as its protobuf message, with current (or all) members."""
    message = pb.SpecialTeam(
        name=f"communities/{team.community_id}/specialTeams/{team.id}",
        display_name=team.display_name,
        served_group=GROUPS_OUT[team.served_group],
        services=[SERVICES_OUT[service] for service in team.services],
        lead=resident_name(team.community_id, team.lead_id),
        org_unit=unit_name(team.community_id, team.org_unit_id) if team.org_unit_id else "",
    )
    message.create_time.FromDatetime(team.created_at)
    for membership in team.memberships if show_former else team.current_members():
        member = message.members.add(
            resident=resident_name(team.community_id, membership.resident_id)
        )
        member.join_time.FromDatetime(membership.joined_at)
        if membership.left_at is not None:
            member.leave_time.FromDatetime(membership.left_at)
    return message


def resident_name(community_id: str, resident_id: str) -> str:
    """The resource name of a resident."""
    return f"communities/{community_id}/residents/{resident_id}"


def consent_message(consent: FaceConsent) -> pb.FaceConsent:
    """A face consent as its protobuf message."""
    resident = resident_name(consent.community_id, consent.resident_id)
    message = pb.FaceConsent(
        name=f"{resident}/faceConsents/{consent.id}",
        purpose=consent.purpose,
        policy_version=consent.policy_version,
        retention_days=consent.retention_days,
        granted_by=consent.granted_by,
        withdrawn_by=consent.withdrawn_by or "",
        guardian=(
            ""
            if consent.guardian_id is None
            else resident_name(consent.community_id, consent.guardian_id)
        ),
    )
    message.grant_time.FromDatetime(consent.granted_at)
    if consent.withdrawn_at is not None:
        message.withdraw_time.FromDatetime(consent.withdrawn_at)
    return message


def enrolment_message(enrolment: FaceEnrolment) -> pb.FaceEnrolment:
    """A face enrolment as its protobuf message (without the template)."""
    message = pb.FaceEnrolment(
        resident=resident_name(enrolment.community_id, enrolment.resident_id),
        engine=enrolment.template.engine,
        model_version=enrolment.template.model_version,
    )
    message.enrol_time.FromDatetime(enrolment.enrolled_at)
    return message


def decision_message(decision: face_handlers.FaceDecision) -> pb.FaceDecision:
    """A biometric decision record as its protobuf message."""
    challenge = next(k for k, v in CHALLENGES.items() if v is decision.liveness.challenge)
    return pb.FaceDecision(
        engine=decision.match.engine,
        model_version=decision.match.model_version,
        similarity=decision.match.similarity,
        threshold=decision.match.threshold,
        matched=decision.match.matched,
        challenge=challenge,
        frames=decision.liveness.frames,
    )


def burst(frames: list[bytes], challenge: int) -> face_handlers.FaceBurst:
    """A frame burst from a request, or InvalidArgument without a challenge."""
    if challenge not in CHALLENGES:
        raise InvalidArgument("challenge must be LIVENESS_CHALLENGE_BLINK or _HEAD_TURN")
    return face_handlers.FaceBurst(tuple(frames), CHALLENGES[challenge])


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    """Communities, residents, consent and faces over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], IdentityUnitOfWork],
        engine: FaceEngine,
        galleries: Galleries,
    ) -> None:
        self.uow_factory = uow_factory
        self.engine = engine
        self.galleries = galleries

    async def CreateCommunity(
        self, request: pb.CreateCommunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCommunityResponse:
        """Create a community."""
        command = handlers.CreateCommunity(
            request.community_id, request.display_name, request.request_id
        )
        community = await asyncio.to_thread(handlers.create_community, command, self.uow_factory())
        return pb.CreateCommunityResponse(community=community_message(community))

    async def GetCommunity(
        self, request: pb.GetCommunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCommunityResponse:
        """A community by name."""
        ids = parse_name(COMMUNITY, request.name)
        community = await asyncio.to_thread(
            handlers.get_community, ids["community"], self.uow_factory()
        )
        return pb.GetCommunityResponse(community=community_message(community))

    async def RegisterResident(
        self, request: pb.RegisterResidentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterResidentResponse:
        """Register a resident in a community."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        home = parse_name(ORG_UNIT, request.home_unit, "home_unit") if request.home_unit else None
        if home is not None and home["community"] != ids["community"]:
            raise InvalidArgument("home_unit must be in the same community")
        command = handlers.RegisterResident(
            ids["community"],
            request.display_name,
            request.phone,
            request.org_unit,
            request.request_id,
            parse_birth_date(request.birth_date),
            request.household,
            home["unit"] if home else "",
        )
        resident = await asyncio.to_thread(handlers.register_resident, command, self.uow_factory())
        return pb.RegisterResidentResponse(resident=resident_message(resident))

    async def GetResident(
        self, request: pb.GetResidentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResidentResponse:
        """A resident by name."""
        ids = parse_name(RESIDENT, request.name)
        resident = await asyncio.to_thread(
            handlers.get_resident, ids["community"], ids["resident"], self.uow_factory()
        )
        return pb.GetResidentResponse(resident=resident_message(resident))

    async def ListResidents(
        self, request: pb.ListResidentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResidentsResponse:
        """A page of a community's residents."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        residents, more = await asyncio.to_thread(
            handlers.list_residents, ids["community"], offset, limit, self.uow_factory()
        )
        return pb.ListResidentsResponse(
            residents=[resident_message(r) for r in residents],
            next_page_token=encode_page_token(offset + limit) if more else "",
        )

    async def GrantFaceConsent(
        self, request: pb.GrantFaceConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GrantFaceConsentResponse:
        """Record consent to face sign-in."""
        ids = parse_name(RESIDENT, request.parent, "parent")
        guardian = parse_name(RESIDENT, request.guardian, "guardian") if request.guardian else None
        if guardian is not None and guardian["community"] != ids["community"]:
            raise InvalidArgument("the guardian must be a resident of the same community")
        command = face_handlers.GrantFaceConsent(
            ids["community"],
            ids["resident"],
            request.policy_version,
            request.retention_days,
            request.recorded_by,
            guardian["resident"] if guardian else "",
            request.request_id,
        )
        consent = await asyncio.to_thread(
            face_handlers.grant_face_consent, command, self.uow_factory(), self.galleries
        )
        return pb.GrantFaceConsentResponse(consent=consent_message(consent))

    async def WithdrawFaceConsent(
        self, request: pb.WithdrawFaceConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.WithdrawFaceConsentResponse:
        """Withdraw consent and delete the face templates."""
        ids = parse_name(RESIDENT, request.parent, "parent")
        command = face_handlers.WithdrawFaceConsent(
            ids["community"], ids["resident"], request.recorded_by, request.request_id
        )
        consent, deleted = await asyncio.to_thread(
            face_handlers.withdraw_face_consent, command, self.uow_factory(), self.galleries
        )
        return pb.WithdrawFaceConsentResponse(
            consent=consent_message(consent), deleted_templates=deleted
        )

    async def ListFaceConsents(
        self, request: pb.ListFaceConsentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFaceConsentsResponse:
        """A resident's consent history."""
        ids = parse_name(RESIDENT, request.parent, "parent")
        consents = await asyncio.to_thread(
            face_handlers.list_face_consents,
            ids["community"],
            ids["resident"],
            self.uow_factory(),
        )
        return pb.ListFaceConsentsResponse(consents=[consent_message(c) for c in consents])

    async def EnrolFace(
        self, request: pb.EnrolFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrolFaceResponse:
        """Enrol a face from one photo."""
        ids = parse_name(RESIDENT, request.resident, "resident")
        command = face_handlers.EnrolFace(
            ids["community"], ids["resident"], request.image, request.request_id
        )
        # Decoding and encoding a face is CPU-bound (~60 ms): off the event loop.
        enrolment = await asyncio.to_thread(
            face_handlers.enrol_face, command, self.uow_factory(), self.engine, self.galleries
        )
        return pb.EnrolFaceResponse(enrolment=enrolment_message(enrolment))

    async def VerifyFace(
        self, request: pb.VerifyFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyFaceResponse:
        """Verify 1:1 that a live burst shows the named resident."""
        ids = parse_name(RESIDENT, request.resident, "resident")
        decision = await asyncio.to_thread(
            face_handlers.verify_face,
            ids["community"],
            ids["resident"],
            burst(list(request.frames), request.challenge),
            self.uow_factory(),
            self.engine,
        )
        return pb.VerifyFaceResponse(decision=decision_message(decision))

    async def IdentifyFace(
        self, request: pb.IdentifyFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.IdentifyFaceResponse:
        """Identify 1:N who a live burst shows."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        decision = await asyncio.to_thread(
            face_handlers.identify_face,
            ids["community"],
            burst(list(request.frames), request.challenge),
            self.uow_factory(),
            self.engine,
            self.galleries,
        )
        assert decision.match.resident_id is not None  # no match is NotFound
        return pb.IdentifyFaceResponse(
            resident=resident_name(ids["community"], decision.match.resident_id),
            decision=decision_message(decision),
        )

    async def CreateOrgUnit(
        self, request: pb.CreateOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrgUnitResponse:
        """Add a unit to the network."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        if request.level not in LEVELS_IN:
            raise InvalidArgument("level must be one of the ORG_LEVEL_* values")
        above = (
            parse_name(ORG_UNIT, request.parent_unit, "parent_unit")
            if request.parent_unit
            else None
        )
        if above is not None and above["community"] != ids["community"]:
            raise InvalidArgument("parent_unit must be in the same community")
        command = org_handlers.CreateOrgUnit(
            ids["community"],
            LEVELS_IN[request.level],
            request.display_name,
            above["unit"] if above else "",
            request.request_id,
        )
        unit = await asyncio.to_thread(org_handlers.create_org_unit, command, self.uow_factory())
        return pb.CreateOrgUnitResponse(org_unit=unit_message(unit))

    async def ListOrgUnits(
        self, request: pb.ListOrgUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrgUnitsResponse:
        """A community's units."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        units = await asyncio.to_thread(
            org_handlers.list_org_units, ids["community"], self.uow_factory()
        )
        return pb.ListOrgUnitsResponse(org_units=[unit_message(u) for u in units])

    async def ReportOrgUnitSizes(
        self, request: pb.ReportOrgUnitSizesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReportOrgUnitSizesResponse:
        """Every unit's size against the soft limits."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        sizes = await asyncio.to_thread(
            org_handlers.org_size_report, ids["community"], self.uow_factory()
        )
        return pb.ReportOrgUnitSizesResponse(
            sizes=[
                pb.OrgUnitSize(
                    org_unit=unit_name(s.unit.community_id, s.unit.id),
                    households=s.households,
                    role_counts={role.value: count for role, count in s.roles.items()},
                    warnings=list(s.warnings),
                )
                for s in sizes
            ]
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
        ids = parse_name(RESIDENT, name, "resident")
        command = org_handlers.ChangeRole(
            ids["community"], ids["resident"], parse_role(role), grant, request_id
        )
        return await asyncio.to_thread(org_handlers.change_role, command, self.uow_factory())

    async def StartMentoring(
        self, request: pb.StartMentoringRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartMentoringResponse:
        """Pair a core volunteer with a newcomer."""
        mentor = parse_name(RESIDENT, request.mentor, "mentor")
        newcomer = parse_name(RESIDENT, request.newcomer, "newcomer")
        if mentor["community"] != newcomer["community"]:
            raise InvalidArgument("mentor and newcomer must be in the same community")
        command = org_handlers.StartMentoring(
            mentor["community"], mentor["resident"], newcomer["resident"], request.request_id
        )
        pair = await asyncio.to_thread(org_handlers.start_mentoring, command, self.uow_factory())
        return pb.StartMentoringResponse(pair=pair_message(pair))

    async def ListMentoringPairs(
        self, request: pb.ListMentoringPairsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMentoringPairsResponse:
        """A resident's mentoring pairs."""
        ids = parse_name(RESIDENT, request.resident, "resident")
        pairs = await asyncio.to_thread(
            org_handlers.list_mentoring_pairs, ids["community"], ids["resident"], self.uow_factory()
        )
        return pb.ListMentoringPairsResponse(pairs=[pair_message(p) for p in pairs])

    async def ExportResidents(
        self, request: pb.ExportResidentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportResidentsResponse:
        """A community's residents as CSV."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        residents = await asyncio.to_thread(
            resident_import.export_residents, ids["community"], self.uow_factory()
        )
        return pb.ExportResidentsResponse(csv=resident_csv.export_csv(residents))

    async def ImportResidents(
        self, request: pb.ImportResidentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportResidentsResponse:
        """Import residents from CSV, all or nothing."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        rows, unreadable = await asyncio.to_thread(resident_csv.parse_csv, request.csv)
        command = resident_import.ImportResidents(ids["community"], tuple(rows), request.request_id)
        imported, errors = await asyncio.to_thread(
            resident_import.import_residents, command, self.uow_factory(), unreadable
        )
        return pb.ImportResidentsResponse(
            imported=imported,
            errors=[pb.ImportRowError(line=e.line, message=e.message) for e in errors],
        )

    async def CreateSpecialTeam(
        self, request: pb.CreateSpecialTeamRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSpecialTeamResponse:
        """Form a special service team."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        lead = parse_name(RESIDENT, request.lead, "lead")
        unit = parse_name(ORG_UNIT, request.org_unit, "org_unit") if request.org_unit else None
        if lead["community"] != ids["community"] or (
            unit is not None and unit["community"] != ids["community"]
        ):
            raise InvalidArgument("lead and org_unit must be in the team's community")
        if request.served_group not in GROUPS_IN:
            raise InvalidArgument("served_group must be one of the SERVED_GROUP_* values")
        if any(service not in SERVICES_IN for service in request.services):
            raise InvalidArgument("services must be TEAM_SERVICE_* values")
        command = team_handlers.CreateSpecialTeam(
            ids["community"],
            request.display_name,
            GROUPS_IN[request.served_group],
            tuple(SERVICES_IN[service] for service in request.services),
            lead["resident"],
            unit["unit"] if unit else "",
            request.request_id,
        )
        team = await asyncio.to_thread(
            team_handlers.create_special_team, command, self.uow_factory()
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
        self, team_name: str, resident_name: str, join: bool, request_id: str
    ) -> SpecialTeam:
        team = parse_name(TEAM, team_name, "team")
        resident = parse_name(RESIDENT, resident_name, "resident")
        if resident["community"] != team["community"]:
            raise InvalidArgument("the resident must be in the team's community")
        command = team_handlers.ChangeTeamMember(
            team["community"], team["team"], resident["resident"], join, request_id
        )
        return await asyncio.to_thread(
            team_handlers.change_team_member, command, self.uow_factory()
        )

    async def ListSpecialTeams(
        self, request: pb.ListSpecialTeamsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSpecialTeamsResponse:
        """A community's special teams with their members."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        member = parse_name(RESIDENT, request.member, "member") if request.member else None
        if member is not None and member["community"] != ids["community"]:
            raise InvalidArgument("member must be in the same community")
        teams = await asyncio.to_thread(
            team_handlers.list_special_teams,
            ids["community"],
            self.uow_factory(),
            member["resident"] if member else "",
        )
        return pb.ListSpecialTeamsResponse(
            teams=[team_message(team, request.show_former_members) for team in teams]
        )

    async def RotateTemplateKeys(
        self, request: pb.RotateTemplateKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateTemplateKeysResponse:
        """Re-encrypt a community's face templates under its current key."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        command = face_handlers.RotateTemplateKeys(ids["community"], request.request_id)
        rotated, key_id = await asyncio.to_thread(
            face_handlers.rotate_template_keys, command, self.uow_factory()
        )
        return pb.RotateTemplateKeysResponse(re_encrypted=rotated, current_key_id=key_id)
