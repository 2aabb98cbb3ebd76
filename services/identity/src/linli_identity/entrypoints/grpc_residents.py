"""IdentityService RPCs of communities and residents, one by one or by CSV (I1, A4)."""

from __future__ import annotations

import asyncio

import grpc
from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.domain import names
from linli_identity.domain.resident_import import ImportRefused
from linli_identity.domain.residents import parse_birth_date
from linli_identity.entrypoints import resident_csv
from linli_identity.entrypoints.grpc_base import ServicerBase
from linli_identity.entrypoints.messages import community_message, resident_message
from linli_identity.service_layer import residents
from linli_identity.service_layer.commands import CreateCommunity, ImportResidents, RegisterResident
from linli_kit import auth
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import Role, current_principal

# Who may call each RPC (deny by default); the use cases check whose records (domain.access).
POLICY: auth.Policy = {
    "CreateCommunity": auth.persons(Role.SRE),
    "GetCommunity": auth.persons() + auth.services(),
    "RegisterResident": auth.persons(Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON),
    "GetResident": auth.persons() + auth.services("attendance"),
    # Yes or no only, for the points service's council (never a household itself).
    "CheckSameHousehold": auth.services("points"),
    "ListResidents": auth.persons(Role.SOCIAL_WORKER),
    "ExportResidents": auth.persons(Role.SOCIAL_WORKER),
    "ImportResidents": auth.persons(Role.SOCIAL_WORKER),
}


class ResidentRpcs(ServicerBase):
    """Communities and residents over gRPC."""

    async def CreateCommunity(
        self, request: pb.CreateCommunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCommunityResponse:
        """Create a community."""
        command = CreateCommunity(
            request.community_id,
            request.display_name,
            request.request_id,
            actor=current_principal(),
        )
        community = await asyncio.to_thread(
            residents.create_community, command, self.uow_factory(), self.clock
        )
        return pb.CreateCommunityResponse(community=community_message(community))

    async def GetCommunity(
        self, request: pb.GetCommunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCommunityResponse:
        """A community by name."""
        ids = names.COMMUNITY.parse(request.name)
        community = await asyncio.to_thread(
            residents.get_community, ids["community"], self.uow_factory(), actor=current_principal()
        )
        return pb.GetCommunityResponse(community=community_message(community))

    async def RegisterResident(
        self, request: pb.RegisterResidentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterResidentResponse:
        """Register a resident in a community."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        home = names.ORG_UNIT.parse(request.home_unit, "home_unit") if request.home_unit else None
        if home is not None and home["community"] != ids["community"]:
            raise InvalidArgument("home_unit must be in the same community")
        command = RegisterResident(
            ids["community"],
            request.display_name,
            request.phone,
            request.org_unit,
            request.request_id,
            parse_birth_date(request.birth_date),
            request.household,
            home["unit"] if home else "",
            actor=current_principal(),
        )
        resident = await asyncio.to_thread(
            residents.register_resident, command, self.uow_factory(), self.clock
        )
        return pb.RegisterResidentResponse(resident=resident_message(resident))

    async def GetResident(
        self, request: pb.GetResidentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResidentResponse:
        """A resident by name."""
        ids = names.RESIDENT.parse(request.name)
        resident = await asyncio.to_thread(
            residents.get_resident,
            ids["community"],
            ids["resident"],
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.GetResidentResponse(resident=resident_message(resident))

    async def CheckSameHousehold(
        self, request: pb.CheckSameHouseholdRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckSameHouseholdResponse:
        """Whether two residents share a household."""
        ids = names.RESIDENT.parse(request.name)
        other = names.RESIDENT.parse(request.other, "other")
        if other["community"] != ids["community"]:
            raise InvalidArgument("other must be a resident of the same community")
        same = await asyncio.to_thread(
            residents.same_household,
            ids["community"],
            ids["resident"],
            other["resident"],
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.CheckSameHouseholdResponse(same_household=same)

    async def ListResidents(
        self, request: pb.ListResidentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResidentsResponse:
        """A page of a community's residents."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        page, more = await asyncio.to_thread(
            residents.list_residents,
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ListResidentsResponse(
            residents=[resident_message(r) for r in page],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ExportResidents(
        self, request: pb.ExportResidentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportResidentsResponse:
        """A page of a community's residents as CSV, with its header row."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        page, more = await asyncio.to_thread(
            residents.list_residents,
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ExportResidentsResponse(
            csv=resident_csv.export_csv(page), next_page_token=next_page_token(offset, limit, more)
        )

    async def ImportResidents(
        self, request: pb.ImportResidentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportResidentsResponse:
        """Import residents from CSV, all or nothing; a refused import lists every bad row."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        rows, unreadable = await asyncio.to_thread(resident_csv.parse_csv, request.csv)
        command = ImportResidents(
            ids["community"],
            tuple(rows),
            request.request_id,
            tuple(unreadable),
            actor=current_principal(),
        )
        try:
            batch = await asyncio.to_thread(
                residents.import_residents, command, self.uow_factory(), self.clock
            )
        except ImportRefused as refused:
            return pb.ImportResidentsResponse(
                imported=0,
                errors=[pb.ImportRowError(line=e.line, message=e.message) for e in refused.errors],
            )
        return pb.ImportResidentsResponse(imported=batch.imported)
