"""The PointsService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.names import decode_page_token, page_size, parse_name
from linli_points.domain.ledger import LedgerTransaction
from linli_points.service_layer import handlers
from linli_points.service_layer.ports import PointsUnitOfWork

RESIDENT = "communities/{community}/residents/{resident}"


def transaction_message(transaction: LedgerTransaction) -> pb.Transaction:
    """A ledger transaction as its protobuf message."""
    prefix = f"communities/{transaction.community_id}"
    message = pb.Transaction(
        name=f"{prefix}/transactions/{transaction.id}",
        rule_id=transaction.rule_id,
        source_id=transaction.source_id,
        reason=transaction.reason,
        postings=[
            pb.Posting(account=f"{prefix}/accounts/{p.account.key}", amount_centipoints=p.amount)
            for p in transaction.postings
        ],
    )
    message.create_time.FromDatetime(transaction.created_at)
    return message


class PointsServicer(pb_grpc.PointsServiceServicer):
    """Balances and transactions over gRPC."""

    def __init__(self, uow_factory: Callable[[], PointsUnitOfWork]) -> None:
        self.uow_factory = uow_factory

    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBalanceResponse:
        """A resident's yearly and lifetime balances."""
        ids = parse_name(f"{RESIDENT}/balance", request.name)
        balance = await asyncio.to_thread(
            handlers.get_balance, ids["community"], ids["resident"], self.uow_factory()
        )
        return pb.GetBalanceResponse(
            balance=pb.Balance(
                name=request.name,
                yearly_centipoints=balance.yearly,
                lifetime_centipoints=balance.lifetime,
            )
        )

    async def ListTransactions(
        self, request: pb.ListTransactionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTransactionsResponse:
        """The transactions behind a resident's balances, newest first."""
        ids = parse_name(RESIDENT, request.parent, "parent")
        result = await asyncio.to_thread(
            handlers.list_transactions,
            ids["community"],
            ids["resident"],
            decode_page_token(request.page_token),
            page_size(request.page_size),
            self.uow_factory(),
        )
        return pb.ListTransactionsResponse(
            transactions=[transaction_message(t) for t in result.transactions],
            next_page_token=result.next_page_token,
        )
