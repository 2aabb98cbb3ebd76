"""The IdentityService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc
from linli_kit.names import decode_page_token, encode_page_token, page_size, parse_name

from linli_identity.domain.residents import Community, Resident
from linli_identity.service_layer import handlers
from linli_identity.service_layer.ports import IdentityUnitOfWork

COMMUNITY = "communities/{community}"
RESIDENT = "communities/{community}/residents/{resident}"


def community_message(community: Community) -> pb.Community:
    """A community as its protobuf message."""
    message = pb.Community(name=f"communities/{community.id}",
                           display_name=community.display_name)
    message.create_time.FromDatetime(community.created_at)
    return message


def resident_message(resident: Resident) -> pb.Resident:
    """A resident as its protobuf message."""
    message = pb.Resident(
        name=f"communities/{resident.community_id}/residents/{resident.id}",
        display_name=resident.display_name, phone=resident.phone, org_unit=resident.org_unit,
    )
    message.create_time.FromDatetime(resident.created_at)
    return message


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    """Communities and residents over gRPC."""

    def __init__(self, uow_factory: Callable[[], IdentityUnitOfWork]) -> None:
        self.uow_factory = uow_factory

    async def CreateCommunity(self, request: pb.CreateCommunityRequest,
                              context: grpc.aio.ServicerContext) -> pb.CreateCommunityResponse:
        """Create a community."""
        command = handlers.CreateCommunity(request.community_id, request.display_name,
                                           request.request_id)
        community = await asyncio.to_thread(
            handlers.create_community, command, self.uow_factory()
        )
        return pb.CreateCommunityResponse(community=community_message(community))

    async def GetCommunity(self, request: pb.GetCommunityRequest,
                           context: grpc.aio.ServicerContext) -> pb.GetCommunityResponse:
        """A community by name."""
        ids = parse_name(COMMUNITY, request.name)
        community = await asyncio.to_thread(
            handlers.get_community, ids["community"], self.uow_factory()
        )
        return pb.GetCommunityResponse(community=community_message(community))

    async def RegisterResident(self, request: pb.RegisterResidentRequest,
                               context: grpc.aio.ServicerContext) -> pb.RegisterResidentResponse:
        """Register a resident in a community."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        command = handlers.RegisterResident(
            ids["community"], request.display_name, request.phone, request.org_unit,
            request.request_id,
        )
        resident = await asyncio.to_thread(
            handlers.register_resident, command, self.uow_factory()
        )
        return pb.RegisterResidentResponse(resident=resident_message(resident))

    async def GetResident(self, request: pb.GetResidentRequest,
                          context: grpc.aio.ServicerContext) -> pb.GetResidentResponse:
        """A resident by name."""
        ids = parse_name(RESIDENT, request.name)
        resident = await asyncio.to_thread(
            handlers.get_resident, ids["community"], ids["resident"], self.uow_factory()
        )
        return pb.GetResidentResponse(resident=resident_message(resident))

    async def ListResidents(self, request: pb.ListResidentsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListResidentsResponse:
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
