"""The PointsService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import grpc
import redis
from google.protobuf.timestamp_pb2 import Timestamp
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit import metrics
from linli_kit.errors import InvalidArgument, Unavailable
from linli_kit.names import decode_page_token, page_size, parse_name
from linli_points.adapters.leaderboard import LeaderboardHub, RedisLeaderboards
from linli_points.domain import standings
from linli_points.domain.appeals import Appeal, AppealStatus
from linli_points.domain.audit import report_csv
from linli_points.domain.ledger import LedgerTransaction, Purpose
from linli_points.domain.reservations import Reservation, ReservationState, Sink
from linli_points.domain.rules import RuleCatalog
from linli_points.service_layer import handlers
from linli_points.service_layer.ports import LeaderboardStore, PointsUnitOfWork

COMMUNITY = "communities/{community}"
RESIDENT = "communities/{community}/residents/{resident}"
RESERVATION = "communities/{community}/reservations/{reservation}"
APPEAL = "communities/{community}/appeals/{appeal}"
TRANSACTION = "communities/{community}/transactions/{transaction}"
DEFAULT_TTL_SECONDS = 15 * 60
DEFAULT_WATCHED = 10

SINKS = {pb.SINK_REWARDS: Sink.REWARDS, pb.SINK_TIMEBANK: Sink.TIMEBANK}
RESERVATION_STATES = {
    ReservationState.PENDING: pb.RESERVATION_STATE_PENDING,
    ReservationState.COMMITTED: pb.RESERVATION_STATE_COMMITTED,
    ReservationState.VOIDED: pb.RESERVATION_STATE_VOIDED,
}
APPEAL_STATES = {
    AppealStatus.FILED: pb.APPEAL_STATE_FILED,
    AppealStatus.ACCEPTED: pb.APPEAL_STATE_ACCEPTED,
    AppealStatus.REJECTED: pb.APPEAL_STATE_REJECTED,
}


def _timestamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def transaction_message(transaction: LedgerTransaction) -> pb.Transaction:
    """A ledger transaction as its protobuf message."""
    prefix = f"communities/{transaction.community_id}"
    return pb.Transaction(
        name=f"{prefix}/transactions/{transaction.id}",
        rule_id=transaction.rule_id,
        source_id=transaction.source_id,
        reason=transaction.reason,
        postings=[
            pb.Posting(account=f"{prefix}/accounts/{p.account.key}", amount_centipoints=p.amount)
            for p in transaction.postings
        ],
        create_time=_timestamp(transaction.created_at),
        kind=transaction.kind.value,
        coefficient_percent=transaction.coefficient_percent,
        actor=transaction.actor,
        session=transaction.session,
        reverses=f"{prefix}/transactions/{transaction.reverses}" if transaction.reverses else "",
    )


def reservation_message(r: Reservation) -> pb.Reservation:
    """A reservation as its protobuf message."""
    prefix = f"communities/{r.community_id}"
    return pb.Reservation(
        name=f"{prefix}/reservations/{r.id}",
        resident=f"{prefix}/residents/{r.resident_id}",
        amount_centipoints=r.amount,
        sink=next(k for k, v in SINKS.items() if v is r.sink),
        memo=r.memo,
        state=RESERVATION_STATES[r.state],
        create_time=_timestamp(r.created_at),
        expire_time=_timestamp(r.expires_at),
        settle_time=_timestamp(r.settled_at),
        settle_reason=r.settle_reason,
    )


def appeal_message(a: Appeal) -> pb.Appeal:
    """An appeal as its protobuf message."""
    prefix = f"communities/{a.community_id}"
    return pb.Appeal(
        name=f"{prefix}/appeals/{a.id}",
        resident=f"{prefix}/residents/{a.resident_id}",
        transaction=f"{prefix}/transactions/{a.transaction_id}",
        reason=a.reason,
        state=APPEAL_STATES[a.status],
        reviewer=f"{prefix}/residents/{a.reviewer}" if a.reviewer else "",
        decision_reason=a.decision_reason,
        compensation_centipoints=a.compensation_amount,
        compensation_transaction=(
            f"{prefix}/transactions/{a.compensation_transaction_id}"
            if a.compensation_transaction_id
            else ""
        ),
        create_time=_timestamp(a.filed_at),
        decide_time=_timestamp(a.decided_at),
    )


def _entries(community_id: str, places: list[standings.Place]) -> list[pb.LeaderboardEntry]:
    return [
        pb.LeaderboardEntry(
            resident=f"communities/{community_id}/residents/{p.resident_id}",
            rank=p.rank,
            score_centipoints=p.score,
        )
        for p in places
    ]


def _resident_in(community_id: str, name: str, field: str) -> str:
    ids = parse_name(RESIDENT, name, field)
    if ids["community"] != community_id:
        raise InvalidArgument(f"{field} must be a resident of {community_id}")
    return ids["resident"]


class PointsServicer(pb_grpc.PointsServiceServicer):
    """Balances, reservations, closes, leaderboards, appeals and audits over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], PointsUnitOfWork],
        catalog: RuleCatalog,
        store: LeaderboardStore,
        boards: RedisLeaderboards,
        hub: LeaderboardHub,
    ) -> None:
        self.uow_factory, self.catalog = uow_factory, catalog
        self.store, self.boards, self.hub = store, boards, hub

    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBalanceResponse:
        """A resident's yearly, lifetime and reserved balances and tier."""
        ids = parse_name(f"{RESIDENT}/balance", request.name)
        balance = await asyncio.to_thread(
            handlers.get_balance, ids["community"], ids["resident"], self.uow_factory()
        )
        return pb.GetBalanceResponse(
            balance=pb.Balance(
                name=request.name,
                yearly_centipoints=balance.yearly,
                lifetime_centipoints=balance.lifetime,
                reserved_centipoints=balance.reserved,
                honour_tier=balance.tier,
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

    async def CreateReservation(
        self, request: pb.CreateReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateReservationResponse:
        """Hold points for a redemption or transfer."""
        ids = parse_name(RESIDENT, request.parent, "parent")
        if request.sink not in SINKS:
            raise InvalidArgument("sink must be SINK_REWARDS or SINK_TIMEBANK")
        command = handlers.Reserve(
            request_id=request.request_id,
            community_id=ids["community"],
            resident_id=ids["resident"],
            amount=request.amount_centipoints,
            sink=SINKS[request.sink],
            memo=request.memo,
            ttl_seconds=request.ttl_seconds or DEFAULT_TTL_SECONDS,
        )
        reservation = await asyncio.to_thread(handlers.reserve, command, self.uow_factory())
        return pb.CreateReservationResponse(reservation=reservation_message(reservation))

    async def GetReservation(
        self, request: pb.GetReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReservationResponse:
        """A reservation and its state."""
        ids = parse_name(RESERVATION, request.name)
        reservation = await asyncio.to_thread(
            handlers.get_reservation, ids["community"], ids["reservation"], self.uow_factory()
        )
        return pb.GetReservationResponse(reservation=reservation_message(reservation))

    async def _settle(self, name: str, request_id: str, commit: bool, reason: str) -> Reservation:
        ids = parse_name(RESERVATION, name)
        command = handlers.SettleReservation(
            request_id=request_id,
            community_id=ids["community"],
            reservation_id=ids["reservation"],
            commit=commit,
            reason=reason,
        )
        return await asyncio.to_thread(handlers.settle_reservation, command, self.uow_factory())

    async def CommitReservation(
        self, request: pb.CommitReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommitReservationResponse:
        """Spend the reserved points."""
        reservation = await self._settle(request.name, request.request_id, True, "")
        return pb.CommitReservationResponse(reservation=reservation_message(reservation))

    async def VoidReservation(
        self, request: pb.VoidReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.VoidReservationResponse:
        """Release the reserved points."""
        reservation = await self._settle(request.name, request.request_id, False, request.reason)
        return pb.VoidReservationResponse(reservation=reservation_message(reservation))

    async def ClosePeriods(
        self, request: pb.ClosePeriodsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClosePeriodsResponse:
        """Post the P2 bonuses of ended weeks."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        posted = await asyncio.to_thread(
            handlers.close_periods, community_id, self.uow_factory(), self.catalog
        )
        return pb.ClosePeriodsResponse(transactions=[transaction_message(t) for t in posted])

    async def CloseYear(
        self, request: pb.CloseYearRequest, context: grpc.aio.ServicerContext
    ) -> pb.CloseYearResponse:
        """Expire unspent yearly points of an ended year."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        command = handlers.CloseYear(community_id=community_id, year=request.year)
        posted = await asyncio.to_thread(handlers.close_year, command, self.uow_factory())
        return pb.CloseYearResponse(
            expired_accounts=len(posted),
            expired_centipoints=sum(-t.amount_for(t.resident_id, Purpose.YEARLY) for t in posted),
        )

    async def GetLeaderboard(
        self, request: pb.GetLeaderboardRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLeaderboardResponse:
        """The top of a board."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        scope = standings.check_scope(request.scope or standings.COMMUNITY_SCOPE)
        year = request.year or handlers.current_year()
        try:
            top = await self.boards.top(community_id, year, scope, page_size(request.page_size))
        except redis.RedisError as exc:
            raise Unavailable("the leaderboard store is unreachable; retry") from exc
        return pb.GetLeaderboardResponse(entries=_entries(community_id, standings.places(top)))

    async def WatchLeaderboard(
        self, request: pb.WatchLeaderboardRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchLeaderboardResponse]:
        """A snapshot, then the places that changed, coalesced."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        scope = standings.check_scope(request.scope or standings.COMMUNITY_SCOPE)
        year = request.year or handlers.current_year()
        size = page_size(request.page_size or DEFAULT_WATCHED)
        shown: list[standings.Place] | None = None
        async for top in self.hub.watch(community_id, year, scope, size):
            now = standings.places(top)
            if shown is None:
                yield pb.WatchLeaderboardResponse(
                    snapshot=True, entries=_entries(community_id, now)
                )
            else:
                changed, removed = standings.changes(shown, now)
                if changed or removed:
                    yield pb.WatchLeaderboardResponse(
                        entries=_entries(community_id, changed),
                        removed=[f"communities/{community_id}/residents/{r}" for r in removed],
                    )
            shown = now

    async def RebuildLeaderboard(
        self, request: pb.RebuildLeaderboardRequest, context: grpc.aio.ServicerContext
    ) -> pb.RebuildLeaderboardResponse:
        """Recompute a year's boards from the ledger."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        year = request.year or handlers.current_year()
        ranked = await asyncio.to_thread(
            handlers.rebuild_leaderboards, community_id, year, self.uow_factory(), self.store
        )
        return pb.RebuildLeaderboardResponse(residents=ranked)

    async def CreateAppeal(
        self, request: pb.CreateAppealRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateAppealResponse:
        """File a resident's appeal."""
        ids = parse_name(RESIDENT, request.parent, "parent")
        disputed = parse_name(TRANSACTION, request.transaction, "transaction")
        if disputed["community"] != ids["community"]:
            raise InvalidArgument("transaction must be in the resident's community")
        command = handlers.FileAppeal(
            request_id=request.request_id,
            community_id=ids["community"],
            resident_id=ids["resident"],
            transaction_id=disputed["transaction"],
            reason=request.reason,
        )
        appeal = await asyncio.to_thread(handlers.file_an_appeal, command, self.uow_factory())
        return pb.CreateAppealResponse(appeal=appeal_message(appeal))

    async def DecideAppeal(
        self, request: pb.DecideAppealRequest, context: grpc.aio.ServicerContext
    ) -> pb.DecideAppealResponse:
        """Accept or reject an appeal."""
        ids = parse_name(APPEAL, request.name)
        command = handlers.DecideAppeal(
            request_id=request.request_id,
            community_id=ids["community"],
            appeal_id=ids["appeal"],
            reviewer=_resident_in(ids["community"], request.reviewer, "reviewer"),
            accept=request.accept,
            reason=request.reason,
            amount=request.compensation_centipoints,
        )
        appeal = await asyncio.to_thread(
            handlers.decide_appeal, command, self.uow_factory(), self.catalog
        )
        return pb.DecideAppealResponse(appeal=appeal_message(appeal))

    async def GetAppeal(
        self, request: pb.GetAppealRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAppealResponse:
        """An appeal and its status."""
        ids = parse_name(APPEAL, request.name)
        appeal = await asyncio.to_thread(
            handlers.get_appeal, ids["community"], ids["appeal"], self.uow_factory()
        )
        return pb.GetAppealResponse(appeal=appeal_message(appeal))

    async def ListAppeals(
        self, request: pb.ListAppealsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAppealsResponse:
        """A community's or a resident's appeals."""
        if "/residents/" in request.parent:
            ids = parse_name(RESIDENT, request.parent, "parent")
            community_id, resident_id = ids["community"], ids["resident"]
        else:
            community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
            resident_id = None
        found = await asyncio.to_thread(
            handlers.list_appeals, community_id, resident_id, self.uow_factory()
        )
        return pb.ListAppealsResponse(appeals=[appeal_message(a) for a in found])

    async def _committee(
        self, parent: str, resident: str, request_id: str, member: bool
    ) -> list[str]:
        community_id = parse_name(COMMUNITY, parent, "parent")["community"]
        command = handlers.SetCommitteeMember(
            request_id=request_id,
            community_id=community_id,
            resident_id=_resident_in(community_id, resident, "resident"),
            member=member,
        )
        members = await asyncio.to_thread(
            handlers.set_committee_member, command, self.uow_factory()
        )
        return [f"communities/{community_id}/residents/{m}" for m in sorted(members)]

    async def AddCommitteeMember(
        self, request: pb.AddCommitteeMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddCommitteeMemberResponse:
        """Add a committee member."""
        members = await self._committee(request.parent, request.resident, request.request_id, True)
        return pb.AddCommitteeMemberResponse(members=members)

    async def RemoveCommitteeMember(
        self, request: pb.RemoveCommitteeMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveCommitteeMemberResponse:
        """Remove a committee member."""
        members = await self._committee(request.parent, request.resident, request.request_id, False)
        return pb.RemoveCommitteeMemberResponse(members=members)

    async def VerifyLedger(
        self, request: pb.VerifyLedgerRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyLedgerResponse:
        """Recompute the chain and balances."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        result = await asyncio.to_thread(handlers.verify_ledger, community_id, self.uow_factory())
        if not result.ok:
            metrics.LEDGER_VERIFICATION_FAILURES.labels(community_id).inc()
        return pb.VerifyLedgerResponse(
            ok=result.ok,
            transactions_checked=result.transactions,
            accounts_checked=result.accounts,
            breaks=result.breaks,
        )

    async def GetAuditReport(
        self, request: pb.GetAuditReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAuditReportResponse:
        """The quarterly audit report as JSON and CSV."""
        community_id = parse_name(COMMUNITY, request.parent, "parent")["community"]
        report = await asyncio.to_thread(
            handlers.audit_report,
            community_id,
            request.year,
            request.quarter,
            self.uow_factory(),
        )
        return pb.GetAuditReportResponse(
            json=json.dumps(report, ensure_ascii=False, indent=2), csv=report_csv(report)
        )
