"""The one place where the points service's dependencies are wired.

Every dependency is a keyword with a production default; nothing connects to PostgreSQL or
Redis while wiring (engines and clients connect on first use, inside the workers).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, cast

import sqlalchemy as sa
from linli.points.v1 import council_service_pb2 as council_pb
from linli.points.v1 import council_service_pb2_grpc as council_grpc
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit import auth, schedules, telemetry
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.deadletters import DeadLetters
from linli_kit.domain import Clock, utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import EnvelopeHandler, OutboxRelay, StreamConsumer
from linli_points import timebank_wiring
from linli_points.adapters import events, orm
from linli_points.adapters.identity_households import IdentityHouseholds
from linli_points.adapters.identity_people import IdentityPeople
from linli_points.adapters.leaderboard import (
    LeaderboardHub,
    RedisLeaderboards,
    RedisLeaderboardStore,
)
from linli_points.adapters.ledger import LedgerMemory, SqlPointsUnitOfWork
from linli_points.config import PointsSettings
from linli_points.entrypoints import council_api, grpc_api, timebank_api
from linli_points.entrypoints.consumers import (
    AttendanceEvents,
    IdentityEvents,
    LeaderboardProjector,
    TrainingEvents,
)
from linli_points.service_layer.closes import close_ended_periods, next_boundary
from linli_points.service_layer.ports import (
    Households,
    Leaderboards,
    LeaderboardStore,
    LeaderboardWatch,
    PointsUnitOfWork,
)
from linli_points.service_layer.reservations import void_expired
from linli_points.service_layer.timebank import Reconciliation, TimeBankUnitOfWork, reconcile
from linli_points.service_layer.writer import CommunityWriter, Submit

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PointsService"].full_name
COUNCIL_NAME = council_pb.DESCRIPTOR.services_by_name["CouncilService"].full_name
UowFactory = Callable[[], PointsUnitOfWork]
Worker = Callable[[], Coroutine[Any, Any, None]]


class Consumer(Protocol):
    """A stream consumer as the app runs it."""

    async def run(self) -> None: ...

    async def close(self) -> None: ...


class ConsumerFactory(Protocol):
    """(stream name without prefix, group, payload type → handler, lane) → a consumer."""

    def __call__(
        self, stream: str, group: str, routes: dict[str, EnvelopeHandler], lane: int = 0
    ) -> Consumer: ...


CONSUMED = ("attendance.events", "identity.events", "points.events", "training.events")


def sql_uow_factory(plumbing: SqlPlumbing) -> UowFactory:
    """A factory of SQL units of work over the points database, sharing one ledger memory."""
    memory = LedgerMemory()
    return lambda: SqlPointsUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox, memory
    )


def database(settings: PointsSettings) -> SqlPlumbing:
    """The points database's engine, sessions and outbox; no connection opens until first use."""
    return sql_plumbing(
        settings.database_url, orm.runtime, f"{settings.stream_prefix}points.events", events.encode
    )


def redis_consumers(settings: PointsSettings) -> ConsumerFactory:
    """Consumers of the shared Redis streams, named after this replica."""

    def consumer(
        stream: str, group: str, routes: dict[str, EnvelopeHandler], lane: int = 0
    ) -> Consumer:
        return StreamConsumer(
            settings.redis_url,
            f"{settings.stream_prefix}{stream}",
            group=group,
            consumer=f"{settings.consumer_name}-{lane}" if lane else settings.consumer_name,
            handlers=routes,
            max_deliveries=settings.max_deliveries,
            claim_idle_ms=settings.claim_idle_ms,
        )

    return consumer


@dataclass(frozen=True)
class Operations:
    """What the operator commands need: the units of work and the leaderboard store."""

    uow_factory: UowFactory
    store: LeaderboardStore
    close: Callable[[], None]


def operations(settings: PointsSettings) -> Operations:
    """The production parts behind the operator commands (the CLI), wired as the app wires them."""
    plumbing = database(settings)
    store = RedisLeaderboardStore(settings.redis_url, settings.stream_prefix)

    def close() -> None:
        store.close()
        plumbing.engine.dispose()

    return Operations(sql_uow_factory(plumbing), store, close)


def reconcile_timebank(settings: PointsSettings) -> list[Reconciliation]:
    """Exchange signed statements with every peer once, without serving (the CLI)."""
    tls = auth.TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
    people = IdentityPeople(auth.channel(settings.identity_address, tls))
    plumbing = database(settings)
    wired = timebank_wiring.parts(settings.timebank, plumbing, settings.tls_dir, people)
    try:
        return reconcile(wired.uows, wired.exchange, wired.federation, wired.statements)
    finally:
        wired.exchange.close()
        plumbing.engine.dispose()


def build_app(
    settings: PointsSettings,
    *,
    uow_factory: UowFactory | None = None,
    clock: Clock = utc_now,
    engine: sa.Engine | None = None,
    store: LeaderboardStore | None = None,
    boards: Leaderboards | None = None,
    hub: LeaderboardWatch | None = None,
    consumers: ConsumerFactory | None = None,
    verifier: auth.Verifier | None = None,
    households: Households | None = None,
) -> GrpcApp:
    """The points gRPC app with its relay, consumers, leaderboard hub and schedules."""
    # Without uow_factory the app uses the configured database and relays its outbox; engine
    # fences the schedules across replicas (the database's engine by default). Without
    # verifier, tokens are checked against identity's published keys (fetched on first use).
    # households: identity's answers for the council's votes (CheckSameHousehold).
    tls = auth.TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
    if verifier is None:
        verifier = auth.identity_keys(auth.channel(settings.identity_address, tls))
    if households is None:
        households = IdentityHouseholds(auth.channel(settings.identity_address, tls))
    catalog = settings.catalog
    background: list[Worker] = []
    on_stop: list[Callable[[], Awaitable[None]]] = []
    plumbing: SqlPlumbing | None = None
    if uow_factory is None:
        plumbing = database(settings)
        uow_factory = sql_uow_factory(plumbing)
        engine = engine or plumbing.engine
        background.append(OutboxRelay.of(plumbing, settings.redis_url).run)
        on_stop.append(_async(plumbing.engine.dispose))
    if store is None:
        redis_store = RedisLeaderboardStore(settings.redis_url, settings.stream_prefix)
        store = redis_store
        on_stop.append(_async(redis_store.close))
    if boards is None:
        redis_boards = RedisLeaderboards(settings.redis_url, settings.stream_prefix)
        boards = redis_boards
        on_stop.append(redis_boards.close)
        if hub is None:
            redis_hub = LeaderboardHub(redis_boards, settings.leaderboard_min_interval_seconds)
            hub = redis_hub
            background.append(redis_hub.run)
    if hub is None:
        raise TypeError("build_app: a fake boards= needs a fake hub= beside it")
    # The operations API serves the dead letters of the streams consumed here (not with fakes).
    letters = (
        None if consumers else DeadLetters(settings.redis_url, settings.stream_prefix, CONSUMED)
    )
    consumer = consumers or redis_consumers(settings)
    # Postings of a community go through one writer that commits what is waiting at once:
    # the consumers', the reservations', the sweep's and the time bank's (whose steps need
    # the transfers beside the ledger: then the writer's units of work are the time bank's).
    bank_uows = (
        timebank_wiring.uow_factory(plumbing) if settings.timebank.enabled and plumbing else None
    )
    writer = CommunityWriter(
        bank_uows or uow_factory,
        batch_scope=functools.partial(telemetry.batch_span, "points.write-batch"),
    )
    attendance = AttendanceEvents(writer, catalog).handlers()
    streams = [
        *(
            consumer("attendance.events", "points", attendance, lane)
            for lane in range(settings.attendance_consumers)
        ),
        consumer("identity.events", "points", IdentityEvents(uow_factory, boards).handlers()),
        consumer("training.events", "points", TrainingEvents(writer, catalog).handlers()),
        consumer(
            "points.events",
            "points-leaderboard",
            LeaderboardProjector(uow_factory, boards).handlers(),
        ),
    ]
    background += [s.run for s in streams]
    on_stop[:0] = [*(s.close for s in streams), _async(writer.close)]
    # Harmless on several replicas at once: each reservation is voided only while pending,
    # under a row lock, so no fence.
    background.append(
        schedules.every(
            "points.void-expired-reservations",
            settings.reservation_sweep_seconds,
            functools.partial(void_expired, uow_factory, submit=writer.submit),
            clock=clock,
        ).run
    )
    if settings.scheduler_enabled:
        # Fenced (advisory lock on the points database): one replica closes each boundary;
        # the closes are idempotent too, so a late or repeated run posts nothing twice.
        background.append(
            schedules.at_boundaries(
                "points.close-ended-periods",
                next_boundary,
                functools.partial(close_ended_periods, uow_factory, catalog),
                fence=engine,
                clock=clock,
            ).run
        )

    # Counted on every replica (a read): each exports the same figure.
    background.append(
        schedules.every(
            "points.council-overdue-audits",
            settings.council_overdue_seconds,
            functools.partial(council_api.count_overdue_audits, uow_factory, settings.council_rule),
            clock=clock,
        ).run
    )

    servicer = grpc_api.PointsServicer(
        uow_factory,
        catalog,
        store,
        boards,
        hub,
        clock,
        settings.shows_full_names,
        council_rules=settings.council_rule,
        submit=writer.submit,
    )
    council_servicer = council_api.CouncilServicer(
        uow_factory, catalog, settings.council_rule, households, clock
    )

    policies = {SERVICE_NAME: grpc_api.POLICY, COUNCIL_NAME: council_api.POLICY}
    bank = None
    if settings.timebank.enabled:  # the time bank (E4): only with peers configured
        if plumbing is None:
            raise TypeError("build_app: the time bank runs on the configured database only")
        bank = timebank_wiring.build(
            settings.timebank,
            plumbing,
            tls_dir=settings.tls_dir,
            host=settings.grpc_host,
            verifier=verifier,
            # Identity here: the senders' person keys and the recipient rule.
            people=IdentityPeople(auth.channel(settings.identity_address, tls)),
            # The writer's units of work are the time bank's (bank_uows, above).
            submit=cast(Submit[TimeBankUnitOfWork], writer.submit),
            clock=clock,
        )
        background += bank.background
        on_stop += bank.on_stop
        policies[timebank_api.TIMEBANK_SERVICE] = timebank_api.POLICY

    def register(server: Any) -> None:
        pb_grpc.add_PointsServiceServicer_to_server(servicer, server)
        council_grpc.add_CouncilServiceServicer_to_server(council_servicer, server)
        if bank is not None:
            bank.register(server)

    return GrpcApp(
        "points",
        register,
        policies=policies,
        verifier=verifier,
        background=background,
        on_stop=on_stop,
        dead_letters=letters,
        limits={SERVICE_NAME: grpc_api.LIMITS, COUNCIL_NAME: council_api.LIMITS},
    )


def _async(close: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def closing() -> None:
        close()

    return closing
