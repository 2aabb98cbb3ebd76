"""The one place where the points service's dependencies are wired."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.domain import utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay, StreamConsumer
from linli_points.adapters import events, orm
from linli_points.adapters.leaderboard import (
    LeaderboardHub,
    RedisLeaderboards,
    RedisLeaderboardStore,
)
from linli_points.adapters.ledger import SqlPointsUnitOfWork
from linli_points.config import PointsSettings
from linli_points.domain.ledger import Account
from linli_points.domain.periods import policy_year, week_end, week_of, year_bounds
from linli_points.domain.rules import RuleCatalog
from linli_points.entrypoints.consumers import (
    AttendanceEvents,
    IdentityEvents,
    LeaderboardProjector,
)
from linli_points.entrypoints.grpc_api import PointsServicer
from linli_points.service_layer import handlers
from linli_points.service_layer.ports import PointsUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PointsService"].full_name
log = logging.getLogger(__name__)


def uow_factory(plumbing: SqlPlumbing) -> Callable[[], PointsUnitOfWork]:
    """A factory of SQL units of work over the points database, sharing one account-id cache."""
    known: dict[Account, int] = {}
    return lambda: SqlPointsUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox, known
    )


def next_boundary(now: datetime) -> datetime:
    """The next week or year boundary (Asia/Shanghai) after an instant."""
    return min(week_end(week_of(now)), year_bounds(policy_year(now))[1])


def close_ended_periods(
    make_uow: Callable[[], PointsUnitOfWork], catalog: RuleCatalog, now: datetime
) -> None:
    """Post due P2 bonuses and expire the previous year in every community (idempotent)."""
    with make_uow() as uow:
        communities = uow.ledger.communities()
    for community_id in communities:
        handlers.close_periods(community_id, make_uow(), catalog, lambda: now)
        handlers.close_year(
            handlers.CloseYear(community_id=community_id, year=policy_year(now) - 1),
            make_uow(),
            lambda: now,
        )


def build_app(settings: PointsSettings) -> GrpcApp:
    """The points gRPC app with its relay, consumers, leaderboard hub and timers."""
    plumbing = sql_plumbing(
        settings.database_url, orm.runtime, f"{settings.stream_prefix}points.events", events.encode
    )
    make_uow = uow_factory(plumbing)
    catalog = settings.catalog
    relay = OutboxRelay(plumbing.session_factory, orm.runtime.outbox, settings.redis_url)
    store = RedisLeaderboardStore(settings.redis_url, settings.stream_prefix)
    boards = RedisLeaderboards(settings.redis_url, settings.stream_prefix)
    hub = LeaderboardHub(boards, settings.leaderboard_min_interval_seconds)

    def consumer(stream: str, group: str, routes: dict) -> StreamConsumer:
        return StreamConsumer(
            settings.redis_url,
            f"{settings.stream_prefix}{stream}",
            group=group,
            consumer=settings.consumer_name,
            handlers=routes,
            max_deliveries=settings.max_deliveries,
            claim_idle_ms=settings.claim_idle_ms,
        )

    consumers = [
        consumer("attendance.events", "points", AttendanceEvents(make_uow, catalog).handlers()),
        consumer("identity.events", "points", IdentityEvents(make_uow).handlers()),
        consumer(
            "points.events",
            "points-leaderboard",
            LeaderboardProjector(make_uow, boards).handlers(),
        ),
    ]

    async def void_forgotten_reservations() -> None:
        while True:
            try:
                await asyncio.to_thread(handlers.void_expired, make_uow)
            except sa.exc.SQLAlchemyError:
                log.exception("voiding expired reservations failed; retrying")
            await asyncio.sleep(settings.reservation_sweep_seconds)

    async def close_at_boundaries() -> None:
        while True:
            boundary = next_boundary(utc_now())
            await asyncio.sleep(max(0.0, (boundary - utc_now()).total_seconds()) + 1)
            try:
                await asyncio.to_thread(close_ended_periods, make_uow, catalog, utc_now())
            except sa.exc.SQLAlchemyError:
                log.exception("closing ended periods failed; the next boundary retries")

    background = [relay.run, hub.run, void_forgotten_reservations, *(c.run for c in consumers)]
    if settings.scheduler_enabled:
        background.append(close_at_boundaries)

    def register(server: object) -> None:
        pb_grpc.add_PointsServiceServicer_to_server(
            PointsServicer(make_uow, catalog, store, boards, hub), server
        )

    async def close() -> None:
        for c in consumers:
            await c.close()
        await boards.close()
        store.close()
        plumbing.engine.dispose()

    return GrpcApp("points", register, [SERVICE_NAME], background, [close])
