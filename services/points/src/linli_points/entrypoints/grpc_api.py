"""The PointsService servicer: map the request, call the use case, map the result.

POLICY says which callers each RPC admits (deny by default); the use cases then apply the
object-level rules of `linli_points.domain.access` to the caller (`current_principal()`).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable

import grpc
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit import metrics
from linli_kit.auth import Policy, persons, public, services
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import Role, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_points.domain import standings
from linli_points.domain.audit import report_csv
from linli_points.domain.council import DEFAULT_RULE, CouncilRule
from linli_points.domain.ledger import LedgerTransaction, Purpose
from linli_points.domain.reservations import Reservation
from linli_points.domain.rules import RuleCatalog
from linli_points.domain.runs import Run
from linli_points.entrypoints import messages
from linli_points.names import (
    APPEAL,
    BALANCE,
    COMMUNITY,
    RESERVATION,
    RESIDENT,
    TRANSACTION,
)
from linli_points.service_layer import (
    appeals,
    closes,
    commands,
    leaderboards,
    queries,
    reservations,
)
from linli_points.service_layer.ports import (
    Leaderboards,
    LeaderboardStore,
    LeaderboardWatch,
    PointsUnitOfWork,
)
from linli_points.service_layer.writer import Submit

DEFAULT_TTL_SECONDS = 15 * 60
DEFAULT_WATCHED = 10

ACCOUNT_READERS = persons() + services("rewards", "partners")
OPERATORS = persons(Role.SOCIAL_WORKER, Role.SRE)
AUDITORS = persons(Role.COMMITTEE_MEMBER, Role.SOCIAL_WORKER)
POLICY: Policy = {
    "GetBalance": ACCOUNT_READERS,
    "ListTransactions": ACCOUNT_READERS,
    "CreateReservation": services("rewards"),
    "GetReservation": services("rewards") + persons(),
    "CommitReservation": services("rewards"),
    "VoidReservation": services("rewards"),
    "RefundReservation": services("rewards"),
    "ClosePeriods": OPERATORS,
    "CloseYear": OPERATORS,
    "RebuildLeaderboard": OPERATORS,
    "GetLeaderboard": public(),
    "WatchLeaderboard": public(),
    "CreateAppeal": persons(),
    "DecideAppeal": persons(Role.COMMITTEE_MEMBER),
    "GetAppeal": persons(),
    "ListAppeals": persons(),
    "VerifyLedger": AUDITORS,
    "GetAuditReport": AUDITORS,
}
# The public boards are open to anyone: per caller (an anonymous one by address) they are
# bounded; appeals are bounded so that nobody floods the committee.
LIMITS: Limits = {
    "GetLeaderboard": per_minute(600, burst=60),
    "WatchLeaderboard": per_minute(30, burst=10),
    "CreateAppeal": per_minute(10),
}


def _community(parent: str) -> str:
    return COMMUNITY.parse(parent, "parent")["community"]


class PointsServicer(pb_grpc.PointsServiceServicer):
    """Balances, reservations, closes, leaderboards, appeals and audits over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], PointsUnitOfWork],
        catalog: RuleCatalog,
        store: LeaderboardStore,
        boards: Leaderboards,
        hub: LeaderboardWatch,
        clock: Clock = utc_now,
        full_names: Callable[[str], bool] = lambda community_id: False,
        council_rules: Callable[[str], CouncilRule] = lambda community_id: DEFAULT_RULE,
        *,
        submit: Submit[PointsUnitOfWork],
    ) -> None:
        # Reservations post through the community's writer (`submit`: its group commit).
        self.uow_factory, self.catalog, self.clock = uow_factory, catalog, clock
        self.submit = submit
        self.council_rules = council_rules
        self.store, self.boards, self.hub = store, boards, hub
        self.full_names = full_names

    async def _write(
        self, community_id: str, work: Callable[[PointsUnitOfWork], Reservation]
    ) -> Reservation:
        return await asyncio.wrap_future(self.submit(community_id, work))

    def _year(self, requested: int) -> int:
        return requested or queries.current_year(self.clock)

    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBalanceResponse:
        """A resident's yearly, lifetime and reserved balances and tier."""
        ids = BALANCE.parse(request.name)
        balance = await asyncio.to_thread(
            queries.get_balance,
            current_principal(),
            ids["community"],
            ids["resident"],
            self.uow_factory(),
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
        ids = RESIDENT.parse(request.parent, "parent")
        result = await asyncio.to_thread(
            queries.list_transactions,
            current_principal(),
            ids["community"],
            ids["resident"],
            decode_page_token(request.page_token),
            page_size(request.page_size),
            self.uow_factory(),
        )
        return pb.ListTransactionsResponse(
            transactions=[messages.transaction_message(t) for t in result.transactions],
            next_page_token=result.next_page_token,
        )

    async def CreateReservation(
        self, request: pb.CreateReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateReservationResponse:
        """Hold points for a redemption or transfer."""
        ids = RESIDENT.parse(request.parent, "parent")
        if request.sink not in messages.SINKS:
            raise InvalidArgument("sink must be SINK_REWARDS or SINK_TIMEBANK")
        command = commands.Reserve(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=ids["community"],
            resident_id=ids["resident"],
            amount=request.amount_centipoints,
            sink=messages.SINKS[request.sink],
            memo=request.memo,
            ttl_seconds=request.ttl_seconds or DEFAULT_TTL_SECONDS,
        )
        reservation = await self._write(
            command.community_id, functools.partial(reservations.reserve, command, clock=self.clock)
        )
        return pb.CreateReservationResponse(reservation=messages.reservation_message(reservation))

    async def GetReservation(
        self, request: pb.GetReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReservationResponse:
        """A reservation and its state."""
        ids = RESERVATION.parse(request.name)
        reservation = await asyncio.to_thread(
            reservations.get_reservation,
            current_principal(),
            ids["community"],
            ids["reservation"],
            self.uow_factory(),
        )
        return pb.GetReservationResponse(reservation=messages.reservation_message(reservation))

    async def _settle(self, name: str, request_id: str, commit: bool, reason: str) -> Reservation:
        ids = RESERVATION.parse(name)
        command = commands.SettleReservation(
            actor=current_principal(),
            request_id=request_id,
            community_id=ids["community"],
            reservation_id=ids["reservation"],
            commit=commit,
            reason=reason,
        )
        return await self._write(
            command.community_id,
            functools.partial(reservations.settle_reservation, command, clock=self.clock),
        )

    async def CommitReservation(
        self, request: pb.CommitReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommitReservationResponse:
        """Spend the reserved points."""
        reservation = await self._settle(request.name, request.request_id, True, "")
        return pb.CommitReservationResponse(reservation=messages.reservation_message(reservation))

    async def VoidReservation(
        self, request: pb.VoidReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.VoidReservationResponse:
        """Release the reserved points."""
        reservation = await self._settle(request.name, request.request_id, False, request.reason)
        return pb.VoidReservationResponse(reservation=messages.reservation_message(reservation))

    async def RefundReservation(
        self, request: pb.RefundReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefundReservationResponse:
        """Give a committed redemption's points back."""
        ids = RESERVATION.parse(request.name)
        command = commands.RefundReservation(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=ids["community"],
            reservation_id=ids["reservation"],
            reason=request.reason,
        )
        reservation = await self._write(
            command.community_id,
            functools.partial(reservations.refund_reservation, command, clock=self.clock),
        )
        return pb.RefundReservationResponse(reservation=messages.reservation_message(reservation))

    async def _posted(self, run: Run) -> list[LedgerTransaction]:
        def load() -> list[LedgerTransaction]:
            with self.uow_factory() as uow:
                return closes.posted_by(uow, run)

        return await asyncio.to_thread(load)

    async def ClosePeriods(
        self, request: pb.ClosePeriodsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClosePeriodsResponse:
        """Post the P2 bonuses of ended weeks."""
        command = commands.ClosePeriods(
            current_principal(), request.request_id, _community(request.parent)
        )
        run = await asyncio.to_thread(
            closes.close_periods, command, self.uow_factory(), self.catalog, self.clock
        )
        posted = await self._posted(run)
        return pb.ClosePeriodsResponse(
            transactions=[messages.transaction_message(t) for t in posted]
        )

    async def CloseYear(
        self, request: pb.CloseYearRequest, context: grpc.aio.ServicerContext
    ) -> pb.CloseYearResponse:
        """Expire unspent yearly points of an ended year."""
        command = commands.CloseYear(
            current_principal(), request.request_id, _community(request.parent), request.year
        )
        run = await asyncio.to_thread(closes.close_year, command, self.uow_factory(), self.clock)
        posted = await self._posted(run)
        return pb.CloseYearResponse(
            expired_accounts=len(posted),
            expired_centipoints=sum(-t.amount_for(t.resident_id, Purpose.YEARLY) for t in posted),
        )

    async def GetLeaderboard(
        self, request: pb.GetLeaderboardRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLeaderboardResponse:
        """The top of a board."""
        community_id = _community(request.parent)
        scope = standings.check_scope(request.scope or standings.COMMUNITY_SCOPE)
        top = await self.boards.top(
            community_id, self._year(request.year), scope, page_size(request.page_size)
        )
        return pb.GetLeaderboardResponse(
            entries=await self._entries(community_id, standings.places(top))
        )

    async def _entries(
        self, community_id: str, places: list[standings.Place]
    ) -> list[pb.LeaderboardEntry]:
        """Board entries with the display names the community shows (masked by default)."""
        known = await self.boards.display_names(community_id, [p.resident_id for p in places])
        full = self.full_names(community_id)
        shown = {r: name if full else standings.masked(name) for r, name in known.items()}
        return messages.entries(community_id, places, shown)

    async def WatchLeaderboard(
        self, request: pb.WatchLeaderboardRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchLeaderboardResponse]:
        """A snapshot, then the places that changed, coalesced."""
        community_id = _community(request.parent)
        scope = standings.check_scope(request.scope or standings.COMMUNITY_SCOPE)
        size = page_size(request.page_size or DEFAULT_WATCHED)
        shown: list[standings.Place] | None = None
        async for top in self.hub.watch(community_id, self._year(request.year), scope, size):
            now = standings.places(top)
            if shown is None:
                yield pb.WatchLeaderboardResponse(
                    snapshot=True, entries=await self._entries(community_id, now)
                )
            else:
                changed, removed = standings.changes(shown, now)
                if changed or removed:
                    yield pb.WatchLeaderboardResponse(
                        entries=await self._entries(community_id, changed),
                        removed=[messages.resident_name(community_id, r) for r in removed],
                    )
            shown = now

    async def RebuildLeaderboard(
        self, request: pb.RebuildLeaderboardRequest, context: grpc.aio.ServicerContext
    ) -> pb.RebuildLeaderboardResponse:
        """Recompute a year's boards from the ledger."""
        command = commands.RebuildLeaderboard(
            current_principal(),
            request.request_id,
            _community(request.parent),
            self._year(request.year),
        )
        run = await asyncio.to_thread(
            leaderboards.rebuild_leaderboards, command, self.uow_factory(), self.store, self.clock
        )
        return pb.RebuildLeaderboardResponse(residents=run.residents)

    async def CreateAppeal(
        self, request: pb.CreateAppealRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateAppealResponse:
        """File a resident's appeal."""
        ids = RESIDENT.parse(request.parent, "parent")
        disputed = TRANSACTION.parse(request.transaction, "transaction")
        if disputed["community"] != ids["community"]:
            raise InvalidArgument("transaction must be in the resident's community")
        command = commands.FileAppeal(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=ids["community"],
            resident_id=ids["resident"],
            transaction_id=disputed["transaction"],
            reason=request.reason,
        )
        appeal = await asyncio.to_thread(
            appeals.file_an_appeal, command, self.uow_factory(), self.clock
        )
        return pb.CreateAppealResponse(appeal=messages.appeal_message(appeal))

    async def DecideAppeal(
        self, request: pb.DecideAppealRequest, context: grpc.aio.ServicerContext
    ) -> pb.DecideAppealResponse:
        """Accept or reject an appeal."""
        ids = APPEAL.parse(request.name)
        command = commands.DecideAppeal(
            actor=current_principal(),
            request_id=request.request_id,
            community_id=ids["community"],
            appeal_id=ids["appeal"],
            accept=request.accept,
            reason=request.reason,
            amount=request.compensation_centipoints,
        )
        appeal = await asyncio.to_thread(
            appeals.decide_appeal,
            command,
            self.uow_factory(),
            self.catalog,
            self.clock,
            self.council_rules,
        )
        return pb.DecideAppealResponse(appeal=messages.appeal_message(appeal))

    async def GetAppeal(
        self, request: pb.GetAppealRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAppealResponse:
        """An appeal and its status."""
        ids = APPEAL.parse(request.name)
        appeal = await asyncio.to_thread(
            appeals.get_appeal,
            current_principal(),
            ids["community"],
            ids["appeal"],
            self.uow_factory(),
        )
        return pb.GetAppealResponse(appeal=messages.appeal_message(appeal))

    async def ListAppeals(
        self, request: pb.ListAppealsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAppealsResponse:
        """A page of a community's or a resident's appeals."""
        if "/residents/" in request.parent:
            ids = RESIDENT.parse(request.parent, "parent")
            community_id, resident_id = ids["community"], ids["resident"]
        else:
            community_id, resident_id = _community(request.parent), None
        statuses = {messages.appeal_status(s) for s in request.states}
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            appeals.list_appeals,
            current_principal(),
            community_id,
            resident_id,
            statuses,
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListAppealsResponse(
            appeals=[messages.appeal_message(a) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def VerifyLedger(
        self, request: pb.VerifyLedgerRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyLedgerResponse:
        """Recompute the chain and balances."""
        community_id = _community(request.parent)
        result = await asyncio.to_thread(
            queries.verify_ledger, current_principal(), community_id, self.uow_factory()
        )
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
        report = await asyncio.to_thread(
            queries.audit_report,
            current_principal(),
            _community(request.parent),
            request.year,
            request.quarter,
            self.uow_factory(),
        )
        return pb.GetAuditReportResponse(
            json=json.dumps(report, ensure_ascii=False, indent=2), csv=report_csv(report)
        )
