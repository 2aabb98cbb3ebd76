"""IdentityService RPCs of relatives in other communities and person keys (time bank, E4)."""

from __future__ import annotations

import asyncio

import grpc
from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.domain import names
from linli_identity.domain.relatives import Recipient, Relation, Relative, RelativeState
from linli_identity.entrypoints.grpc_base import ServicerBase
from linli_identity.service_layer import relatives
from linli_identity.service_layer.relatives import ALL_RESIDENTS, ChangeRelative, DeclareRelative
from linli_kit import auth
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import current_principal
from linli_kit.wire import timestamp

RELATIVE = names.RESIDENT.child("relatives/{relative}")
POLICY: auth.Policy = {
    "DeclareRelative": auth.persons(),
    "ConfirmRelative": auth.persons(),
    "RemoveRelative": auth.persons(),
    "ListRelatives": auth.persons(),
    # The person key and the recipient rule: the community's points service only.
    "GetPersonKey": auth.services("points"),
    "CheckTransferRecipient": auth.services("points"),
}
RELATIONS_IN = {
    pb.RELATION_SPOUSE: Relation.SPOUSE,
    pb.RELATION_PARENT: Relation.PARENT,
    pb.RELATION_CHILD: Relation.CHILD,
    pb.RELATION_SIBLING: Relation.SIBLING,
    pb.RELATION_GRANDPARENT: Relation.GRANDPARENT,
    pb.RELATION_GRANDCHILD: Relation.GRANDCHILD,
    pb.RELATION_OTHER: Relation.OTHER,
}
RELATIONS_OUT = {relation: number for number, relation in RELATIONS_IN.items()}
STATES_IN = {
    pb.RELATIVE_STATE_DECLARED: RelativeState.DECLARED,
    pb.RELATIVE_STATE_CONFIRMED: RelativeState.CONFIRMED,
}
STATES_OUT = {state: number for number, state in STATES_IN.items()}
RECIPIENTS = {
    Recipient.SELF: pb.TRANSFER_RECIPIENT_SELF,
    Recipient.RELATIVE: pb.TRANSFER_RECIPIENT_RELATIVE,
    Recipient.NOT_RELATED: pb.TRANSFER_RECIPIENT_NOT_RELATED,
}


def relative_message(r: Relative) -> pb.Relative:
    """A relative as its protobuf message (its person key stays inside identity)."""
    return pb.Relative(
        name=RELATIVE.format(community=r.community_id, resident=r.resident_id, relative=r.id),
        relation=RELATIONS_OUT[r.relation],
        display_label=r.display_label,
        state=STATES_OUT.get(r.state, pb.RELATIVE_STATE_UNSPECIFIED),
        create_time=timestamp(r.created_at),
        confirm_time=timestamp(r.confirmed_at),
        confirmed_by=(
            names.RESIDENT.format(community=r.community_id, resident=r.confirmed_by)
            if r.confirmed_by
            else ""
        ),
        phone_hint=r.phone_hint,
    )


def _list_parent(parent: str) -> tuple[str, str]:
    """(community, resident) of a ListRelatives parent; the resident may be '-' (all)."""
    community, _, wildcard = parent.rpartition("/residents/")
    if wildcard == ALL_RESIDENTS:
        return names.COMMUNITY.parse(community, "parent")["community"], ALL_RESIDENTS
    ids = names.RESIDENT.parse(parent, "parent")
    return ids["community"], ids["resident"]


class RelativeRpcs(ServicerBase):
    """Relatives and person keys over gRPC."""

    async def DeclareRelative(
        self, request: pb.DeclareRelativeRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeclareRelativeResponse:
        """Declare a relative living in another community."""
        ids = names.RESIDENT.parse(request.parent, "parent")
        relation = RELATIONS_IN.get(request.relation)
        if relation is None:
            raise InvalidArgument("relation must be one of spouse, parent, child, sibling, …")
        command = DeclareRelative(
            ids["community"],
            ids["resident"],
            request.phone,
            relation,
            request.display_label,
            request.request_id,
            actor=current_principal(),
        )
        relative = await asyncio.to_thread(
            relatives.declare_relative, command, self.uow_factory(), self.person_keys, self.clock
        )
        return pb.DeclareRelativeResponse(relative=relative_message(relative))

    async def _change(self, name: str, request_id: str, confirm: bool) -> Relative:
        ids = RELATIVE.parse(name)
        command = ChangeRelative(
            ids["community"],
            ids["resident"],
            ids["relative"],
            confirm,
            request_id,
            actor=current_principal(),
        )
        return await asyncio.to_thread(
            relatives.change_relative, command, self.uow_factory(), self.clock
        )

    async def ConfirmRelative(
        self, request: pb.ConfirmRelativeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmRelativeResponse:
        """Confirm a declared relative (staff)."""
        relative = await self._change(request.name, request.request_id, True)
        return pb.ConfirmRelativeResponse(relative=relative_message(relative))

    async def RemoveRelative(
        self, request: pb.RemoveRelativeRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveRelativeResponse:
        """Remove a relative."""
        await self._change(request.name, request.request_id, False)
        return pb.RemoveRelativeResponse()

    async def ListRelatives(
        self, request: pb.ListRelativesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRelativesResponse:
        """A page of relatives."""
        community_id, resident_id = _list_parent(request.parent)
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        page, more = await asyncio.to_thread(
            relatives.list_relatives,
            community_id,
            resident_id,
            STATES_IN.get(request.state),
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ListRelativesResponse(
            relatives=[relative_message(r) for r in page],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def GetPersonKey(
        self, request: pb.GetPersonKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPersonKeyResponse:
        """A resident's person key."""
        ids = names.RESIDENT.parse(request.name)
        key = await asyncio.to_thread(
            relatives.person_key,
            ids["community"],
            ids["resident"],
            self.uow_factory(),
            self.person_keys,
            actor=current_principal(),
        )
        return pb.GetPersonKeyResponse(person_key=key)

    async def CheckTransferRecipient(
        self, request: pb.CheckTransferRecipientRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckTransferRecipientResponse:
        """What the recipient is to the sender: themself, a confirmed relative, or not related."""
        ids = names.RESIDENT.parse(request.recipient, "recipient")
        found = await asyncio.to_thread(
            relatives.transfer_recipient,
            ids["community"],
            ids["resident"],
            request.sender_person_key,
            self.uow_factory(),
            self.person_keys,
            actor=current_principal(),
        )
        return pb.CheckTransferRecipientResponse(recipient=RECIPIENTS[found])
