"""Relatives in other communities (the time bank's recipient rule, E4), as the resident who
declares them and the staff who confirm them see them, fetched with their own token."""

from __future__ import annotations

from datetime import datetime

import grpc
from linli.identity.v1 import identity_service_pb2 as idn
from pydantic import BaseModel

from linli_gateway.adapters.services import Services
from linli_gateway.entrypoints.sessions import Person
from linli_gateway.entrypoints.views.common import enum_name, last, when

LIST_SIZE = 100
RELATIONS = ("spouse", "parent", "child", "sibling", "grandparent", "grandchild", "other")


class Relative(BaseModel):
    """A relative living in another community: how related, the label, confirmed or not."""

    relative: str  # its resource name
    relative_id: str
    resident: str  # whose relative
    relation: str
    display_label: str
    phone_hint: str  # the last four digits of the number declared
    state: str  # declared, confirmed
    create_time: datetime | None


def relative_view(r: idn.Relative) -> Relative:
    """A Relative message as the pages show it."""
    return Relative(
        relative=r.name,
        relative_id=last(r.name),
        resident=r.name.rpartition("/relatives/")[0],
        relation=enum_name(idn.Relation.Name(r.relation), "RELATION_"),
        display_label=r.display_label,
        phone_hint=r.phone_hint,
        state=enum_name(idn.RelativeState.Name(r.state), "RELATIVE_STATE_"),
        create_time=when(r, "create_time"),
    )


async def _list(svc: Services, person: Person, parent: str, state: int) -> list[Relative]:
    request = idn.ListRelativesRequest(parent=parent, state=state, page_size=LIST_SIZE)
    reply = await svc.identity.ListRelatives(request, metadata=person.metadata, timeout=svc.timeout)
    return [relative_view(r) for r in reply.relatives]


async def mine(svc: Services, person: Person) -> list[Relative]:
    """The resident's own relatives, oldest first."""
    return await _list(svc, person, person.resident, idn.RELATIVE_STATE_UNSPECIFIED)


async def to_confirm(svc: Services, person: Person) -> list[Relative] | None:
    """Every resident's relatives waiting for staff to confirm them; None for staff who may not
    list them all (only social workers do)."""
    parent = f"communities/{person.community}/residents/-"
    try:
        return await _list(svc, person, parent, idn.RELATIVE_STATE_DECLARED)
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.PERMISSION_DENIED:
            return None
        raise


async def declare(
    svc: Services, person: Person, phone: str, relation: str, label: str, request_id: str
) -> Relative:
    """Declare a relative elsewhere by their phone number (once per request id)."""
    request = idn.DeclareRelativeRequest(
        parent=person.resident,
        phone=phone,
        relation=idn.Relation.Value(f"RELATION_{relation.upper()}"),
        display_label=label,
        request_id=request_id,
    )
    reply = await svc.identity.DeclareRelative(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return relative_view(reply.relative)


async def remove(svc: Services, person: Person, relative_id: str, request_id: str) -> None:
    """Remove one of the resident's own relatives."""
    request = idn.RemoveRelativeRequest(
        name=f"{person.resident}/relatives/{relative_id}", request_id=request_id
    )
    await svc.identity.RemoveRelative(request, metadata=person.metadata, timeout=svc.timeout)


async def confirm(svc: Services, person: Person, relative: str, request_id: str) -> Relative:
    """Confirm a resident's declared relative (staff)."""
    request = idn.ConfirmRelativeRequest(name=relative, request_id=request_id)
    reply = await svc.identity.ConfirmRelative(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return relative_view(reply.relative)
