"""The time bank (E4) as the resident and staff see it, fetched with their own token."""

from __future__ import annotations

from datetime import datetime

import grpc
from fastapi import HTTPException
from linli.points.v1 import timebank_service_pb2 as tb
from pydantic import BaseModel

from linli_gateway.adapters.services import Services
from linli_gateway.entrypoints.sessions import Person
from linli_gateway.entrypoints.views.common import enum_name, last, when

LIST_SIZE = 100


class Transfer(BaseModel):
    """A transfer sent or received, and how it stands."""

    transfer: str
    transfer_id: str
    sender: str
    recipient: str
    peer: str  # the other community
    amount_centipoints: int
    state: str  # pending, committed, voided, received
    direction: str  # sent, received
    reason: str  # why it was voided
    memo: str
    create_time: datetime | None
    deadline_time: datetime | None  # the peer must have decided by then, else it is voided
    settle_time: datetime | None


class Transfers(BaseModel):
    """A resident's transfers, newest first; served: whether points serves the time bank."""

    served: bool
    transfers: list[Transfer]


class PeerSettlement(BaseModel):
    """One peer in a month: sent, received, net (positive: we owe it), clearing and limit."""

    peer: str
    sent_centipoints: int
    received_centipoints: int
    net_centipoints: int
    clearing_centipoints: int
    credit_limit_centipoints: int
    pending: int


class Settlement(BaseModel):
    """A month's settlement report; served: whether points serves the time bank."""

    served: bool
    year: int
    month: int
    peers: list[PeerSettlement]
    summary: list[str]


def not_served(exc: grpc.aio.AioRpcError) -> bool:
    """Whether points answered that it does not serve the time bank (no peers configured)."""
    return exc.code() is grpc.StatusCode.UNIMPLEMENTED


def set_up_or_409(exc: grpc.aio.AioRpcError) -> None:
    """409 when points does not serve the time bank (else the refusal goes on as it is)."""
    if not_served(exc):
        raise HTTPException(409, "the time bank is not set up in this community") from None


def _community(name: str) -> str:
    return name.split("/")[1] if name.count("/") >= 1 else ""


def transfer_view(t: tb.Transfer) -> Transfer:
    """A Transfer message as the pages show it."""
    direction = enum_name(tb.TransferDirection.Name(t.direction), "TRANSFER_DIRECTION_")
    return Transfer(
        transfer=t.name,
        transfer_id=last(t.name),
        sender=t.sender,
        recipient=t.recipient,
        peer=_community(t.recipient if direction == "sent" else t.sender),
        amount_centipoints=t.amount_centipoints,
        state=enum_name(tb.TransferState.Name(t.state), "TRANSFER_STATE_"),
        direction=direction,
        reason=t.reason,
        memo=t.memo,
        create_time=when(t, "create_time"),
        deadline_time=when(t, "deadline_time"),
        settle_time=when(t, "settle_time"),
    )


async def transfers(svc: Services, person: Person) -> Transfers:
    """The resident's newest transfers, or served=False when there is no time bank."""
    request = tb.ListTransfersRequest(parent=person.resident, page_size=LIST_SIZE)
    try:
        reply = await svc.timebank.ListTransfers(
            request, metadata=person.metadata, timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if not_served(exc):
            return Transfers(served=False, transfers=[])
        raise
    return Transfers(served=True, transfers=[transfer_view(t) for t in reply.transfers])


async def transfer(svc: Services, person: Person, transfer_id: str) -> Transfer:
    """One transfer of this community (the service refuses anyone else's)."""
    request = tb.GetTransferRequest(name=f"communities/{person.community}/transfers/{transfer_id}")
    try:
        reply = await svc.timebank.GetTransfer(
            request, metadata=person.metadata, timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        set_up_or_409(exc)
        raise
    return transfer_view(reply.transfer)


async def send(
    svc: Services,
    person: Person,
    peer: str,
    recipient_id: str,
    amount_centipoints: int,
    memo: str,
    request_id: str,
) -> Transfer:
    """Send the resident's points to a resident of a peer community (once per request id)."""
    request = tb.CreateTransferRequest(
        parent=person.resident,
        recipient=f"communities/{peer}/residents/{recipient_id}",
        amount_centipoints=amount_centipoints,
        memo=memo,
        request_id=request_id,
    )
    try:
        reply = await svc.timebank.CreateTransfer(
            request, metadata=person.metadata, timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        set_up_or_409(exc)
        raise
    return transfer_view(reply.transfer)


async def settlement(svc: Services, person: Person, year: int, month: int) -> Settlement:
    """Who owes whom in the month, net, per peer; served=False when there is no time bank."""
    request = tb.GetSettlementReportRequest(
        parent=f"communities/{person.community}", year=year, month=month
    )
    try:
        reply = await svc.timebank.GetSettlementReport(
            request, metadata=person.metadata, timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if not_served(exc):
            return Settlement(served=False, year=year, month=month, peers=[], summary=[])
        raise
    peers = [
        PeerSettlement(
            peer=p.peer,
            sent_centipoints=p.sent_centipoints,
            received_centipoints=p.received_centipoints,
            net_centipoints=p.net_centipoints,
            clearing_centipoints=p.clearing_centipoints,
            credit_limit_centipoints=p.credit_limit_centipoints,
            pending=p.pending,
        )
        for p in reply.peers
    ]
    return Settlement(served=True, year=year, month=month, peers=peers, summary=list(reply.summary))
