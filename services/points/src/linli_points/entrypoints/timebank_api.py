"""The time bank's servicers: TimeBankService for residents and staff, ExchangeService for peers.

The exchange is served on a port of its own (`exchange_server`) that trusts only the configured
peers' CAs; a caller is a peer only with a certificate naming `spiffe://linli/<peer>/points`
issued by that very peer's CA (`PeerGate`), so one peer cannot speak for another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Callable, Mapping

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from linli.points.v1 import timebank_service_pb2 as pb
from linli.points.v1 import timebank_service_pb2_grpc as pb_grpc

from linli_kit import auth, metrics
from linli_kit.auth import Policy, peers, persons
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument, PermissionDenied
from linli_kit.grpc_server import ErrorsAndMetricsInterceptor, ValidationInterceptor
from linli_kit.names import COMMUNITY, decode_page_token, next_page_token, page_size
from linli_kit.principals import Kind, Role, current_principal
from linli_kit.wire import required_time, timestamp
from linli_points.domain.timebank import (
    Direction,
    Offer,
    PeerAnswer,
    Transfer,
    TransferState,
    answer_of,
)
from linli_points.names import RESIDENT
from linli_points.service_layer import recipients, timebank
from linli_points.service_layer.recipients import People
from linli_points.service_layer.timebank import (
    Exchange,
    Federation,
    Statements,
    TimeBankUnitOfWork,
    UowFactory,
)
from linli_points.service_layer.writer import Submit

log = logging.getLogger(__name__)
TRANSFER = COMMUNITY.child("transfers/{transfer}")
TIMEBANK_SERVICE = pb.DESCRIPTOR.services_by_name["TimeBankService"].full_name
EXCHANGE_SERVICE = pb.DESCRIPTOR.services_by_name["ExchangeService"].full_name
_TRANSFER_ID = re.compile(r"[a-z][a-z0-9-]{1,63}")
_PERSON_KEY = re.compile(r"[0-9a-f]{64}")

POLICY: Policy = {
    "CreateTransfer": persons(),
    "GetTransfer": persons(),
    "ListTransfers": persons(),
    "GetSettlementReport": persons(
        Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON, Role.COMMITTEE_MEMBER
    ),
}
EXCHANGE_POLICY: Policy = {
    "AcceptTransfer": peers(),
    "AbortTransfer": peers(),
    "GetTransferStatus": peers(),
    "ExchangeStatements": peers(),
}
STATES = {
    TransferState.PENDING: pb.TRANSFER_STATE_PENDING,
    TransferState.COMMITTED: pb.TRANSFER_STATE_COMMITTED,
    TransferState.VOIDED: pb.TRANSFER_STATE_VOIDED,
    TransferState.ACCEPTED: pb.TRANSFER_STATE_RECEIVED,
}
STATUSES = {
    PeerAnswer.UNKNOWN: pb.EXCHANGE_STATUS_UNKNOWN,
    PeerAnswer.ACCEPTED: pb.EXCHANGE_STATUS_ACCEPTED,
    PeerAnswer.REFUSED: pb.EXCHANGE_STATUS_REFUSED,
    PeerAnswer.ABORTED: pb.EXCHANGE_STATUS_ABORTED,
}


def transfer_message(t: Transfer) -> pb.Transfer:
    """A transfer as its protobuf message (a refused one received is not shown)."""
    sent = t.direction is Direction.SENT
    here = RESIDENT.format(community=t.community_id, resident=t.resident_id)
    there = RESIDENT.format(community=t.peer, resident=t.counterpart)
    return pb.Transfer(
        name=TRANSFER.format(community=t.community_id, transfer=t.id),
        sender=here if sent else there,
        recipient=there if sent else here,
        amount_centipoints=t.amount,
        state=STATES.get(t.state, pb.TRANSFER_STATE_UNSPECIFIED),
        direction=pb.TRANSFER_DIRECTION_SENT if sent else pb.TRANSFER_DIRECTION_RECEIVED,
        reason=t.reason,
        memo=t.memo,
        create_time=timestamp(t.created_at),
        deadline_time=timestamp(t.deadline),
        settle_time=timestamp(t.settled_at),
    )


class TimeBankServicer(pb_grpc.TimeBankServiceServicer):
    """Transfers for residents, the settlement report for staff; a transfer's hold and its
    commit or void post through the community's writer (`submit`)."""

    def __init__(
        self,
        uow_factory: UowFactory,
        exchange: Exchange,
        federation: Federation,
        submit: Submit[TimeBankUnitOfWork],
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.exchange, self.federation = uow_factory, exchange, federation
        self.submit, self.clock = submit, clock

    async def CreateTransfer(
        self, request: pb.CreateTransferRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTransferResponse:
        """Send points to a resident of a peer community."""
        sender = RESIDENT.parse(request.parent, "parent")
        recipient = RESIDENT.parse(request.recipient, "recipient")
        command = timebank.SendTransfer(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=sender["community"],
            resident_id=sender["resident"],
            peer=recipient["community"],
            recipient_id=recipient["resident"],
            amount=request.amount_centipoints,
            memo=request.memo,
        )
        transfer = await asyncio.to_thread(
            timebank.send_transfer,
            command,
            self.uow_factory,
            self.exchange,
            self.federation,
            self.clock,
            self.submit,
        )
        metrics.TIMEBANK_TRANSFERS.labels(
            transfer.community_id, transfer.peer, transfer.state
        ).inc()
        return pb.CreateTransferResponse(transfer=transfer_message(transfer))

    async def GetTransfer(
        self, request: pb.GetTransferRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTransferResponse:
        """A transfer and its state."""
        ids = TRANSFER.parse(request.name)
        transfer = await asyncio.to_thread(
            timebank.get_transfer,
            current_principal(),
            ids["community"],
            ids["transfer"],
            self.uow_factory(),
        )
        return pb.GetTransferResponse(transfer=transfer_message(transfer))

    async def ListTransfers(
        self, request: pb.ListTransfersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTransfersResponse:
        """A resident's transfers, newest first."""
        ids = RESIDENT.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            timebank.list_transfers,
            current_principal(),
            ids["community"],
            ids["resident"],
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListTransfersResponse(
            transfers=[transfer_message(t) for t in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def GetSettlementReport(
        self, request: pb.GetSettlementReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSettlementReportResponse:
        """Who owes whom for a month, net, per peer."""
        community_id = COMMUNITY.parse(request.parent, "parent")["community"]
        report = await asyncio.to_thread(
            timebank.settlement_report,
            current_principal(),
            community_id,
            request.year,
            request.month,
            self.uow_factory(),
            self.federation,
        )
        return pb.GetSettlementReportResponse(
            peers=[
                pb.PeerSettlement(
                    peer=s.peer,
                    sent_centipoints=s.sent,
                    received_centipoints=s.received,
                    net_centipoints=s.net,
                    clearing_centipoints=s.clearing,
                    credit_limit_centipoints=s.credit_limit,
                    pending=s.pending,
                )
                for s in report
            ],
            summary=[s.summary(community_id) for s in report],
        )


class PeerGate:
    """Which configured peer is calling: named by the certificate, issued by that peer's CA."""

    def __init__(self, peer_cas: Mapping[str, bytes]) -> None:
        self._cas = {peer: x509.load_pem_x509_certificates(pem) for peer, pem in peer_cas.items()}

    def peer(self, context: grpc.aio.ServicerContext) -> str:
        """The calling peer's community id; PermissionDenied for any other caller."""
        principal = current_principal()
        if principal.kind is not Kind.PEER or principal.community not in self._cas:
            raise PermissionDenied("only a configured peer community may call the exchange")
        pems = context.auth_context().get("x509_pem_cert", ())
        try:
            leaf = x509.load_pem_x509_certificate(pems[0])
        except (IndexError, ValueError):
            raise PermissionDenied("the peer's certificate could not be read") from None
        for ca in self._cas[principal.community]:
            with contextlib.suppress(ValueError, TypeError, InvalidSignature):
                leaf.verify_directly_issued_by(ca)
                return principal.community
        raise PermissionDenied(
            f"the certificate naming {principal.community} is not issued by its CA"
        )


def _transfer_id(value: str) -> str:
    if not _TRANSFER_ID.fullmatch(value):
        raise InvalidArgument("transfer_id must be 2-64 lower-case letters, digits or hyphens")
    return value


def _request_id(value: str) -> None:
    if not value:
        raise InvalidArgument("request_id is required")


def _person_key(value: str) -> str:
    if not _PERSON_KEY.fullmatch(value):
        raise InvalidArgument("sender_person_key must be 64 lower-case hex digits")
    return value


class ExchangeServicer(pb_grpc.ExchangeServiceServicer):
    """The peers' side of every transfer to this community, and the statement exchange; an
    accept or abort is decided by the community's writer (`submit`)."""

    def __init__(
        self,
        uow_factory: UowFactory,
        federation: Federation,
        statements: Statements,
        gate: PeerGate,
        submit: Submit[TimeBankUnitOfWork],
        clock: Clock = utc_now,
        *,
        people: People,
    ) -> None:
        self.uow_factory, self.federation, self.statements = uow_factory, federation, statements
        self.people = people
        self.gate, self.submit, self.clock = gate, submit, clock

    async def _decide(self, work: Callable[[TimeBankUnitOfWork], Transfer]) -> Transfer:
        return await asyncio.wrap_future(self.submit(self.federation.community_id, work))

    async def AcceptTransfer(
        self, request: pb.AcceptTransferRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptTransferResponse:
        """Accept or refuse a peer's transfer, once."""
        peer = self.gate.peer(context)
        _request_id(request.request_id)
        sender = RESIDENT.parse(request.sender, "sender")
        recipient = RESIDENT.parse(request.recipient, "recipient")
        if sender["community"] != peer or recipient["community"] != self.federation.community_id:
            raise InvalidArgument("the sender is the caller's resident, the recipient one here")
        offer = Offer(
            transfer_id=_transfer_id(request.transfer_id),
            peer=peer,
            sender_id=sender["resident"],
            recipient_id=recipient["resident"],
            amount=request.amount_centipoints,
            memo=request.memo,
            created_at=required_time(request, "create_time"),
            deadline=required_time(request, "deadline_time"),
            sender_key=_person_key(request.sender_person_key),
        )
        # Identity here says whether the recipient is the sender or a confirmed relative.
        offer = await asyncio.to_thread(
            recipients.checked_offer, offer, self.people, self.uow_factory(), self.federation
        )
        transfer = await self._decide(
            functools.partial(
                timebank.accept_offer, offer, federation=self.federation, clock=self.clock
            )
        )
        metrics.TIMEBANK_TRANSFERS.labels(transfer.community_id, peer, transfer.state).inc()
        answer = answer_of(transfer)
        return pb.AcceptTransferResponse(status=STATUSES[answer], reason=transfer.reason)

    async def AbortTransfer(
        self, request: pb.AbortTransferRequest, context: grpc.aio.ServicerContext
    ) -> pb.AbortTransferResponse:
        """Never accept a transfer the peer gave up on (or say it was accepted)."""
        peer = self.gate.peer(context)
        _request_id(request.request_id)
        transfer = await self._decide(
            functools.partial(
                timebank.abort_offer,
                peer,
                _transfer_id(request.transfer_id),
                request.reason,
                federation=self.federation,
                clock=self.clock,
            )
        )
        return pb.AbortTransferResponse(status=STATUSES[answer_of(transfer)])

    async def GetTransferStatus(
        self, request: pb.GetTransferStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTransferStatusResponse:
        """What this community decided about a peer's transfer."""
        peer = self.gate.peer(context)
        found = await asyncio.to_thread(
            timebank.offer_status,
            peer,
            _transfer_id(request.transfer_id),
            self.uow_factory(),
            self.federation,
        )
        answer = answer_of(found)
        return pb.GetTransferStatusResponse(
            status=STATUSES[answer], reason=found.reason if found else ""
        )

    async def ExchangeStatements(
        self, request: pb.ExchangeStatementsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExchangeStatementsResponse:
        """Read the peer's signed statement, answer with ours."""
        peer = self.gate.peer(context)
        token, _ = await asyncio.to_thread(
            timebank.answer_statement,
            peer,
            request.statement,
            self.uow_factory(),
            self.federation,
            self.statements,
        )
        return pb.ExchangeStatementsResponse(statement=token)


async def exchange_server(
    servicer: ExchangeServicer,
    tls: auth.TlsFiles,
    peer_cas: Mapping[str, bytes],
    verifier: auth.Verifier,
    host: str,
    port: int,
) -> None:
    """Serve the exchange to the peers (mutual TLS, their CAs only) until cancelled."""
    server = grpc.aio.server(
        interceptors=[
            ErrorsAndMetricsInterceptor("points-exchange"),
            auth.AuthInterceptor(
                {EXCHANGE_SERVICE: EXCHANGE_POLICY}, verifier, peer_communities=frozenset(peer_cas)
            ),
            ValidationInterceptor(),
        ],
        options=[("grpc.so_reuseport", 0)],
    )
    pb_grpc.add_ExchangeServiceServicer_to_server(servicer, server)
    trusted = b"".join(peer_cas.values())
    credentials = grpc.ssl_server_credentials(
        [(tls.key_pem, tls.cert_pem)], root_certificates=trusted, require_client_auth=True
    )
    bound = server.add_secure_port(f"{host}:{port}", credentials)
    await server.start()
    log.info("points serving the time-bank exchange on %s:%d", host, bound)
    try:
        await server.wait_for_termination()
    finally:
        await asyncio.shield(server.stop(2.0))
