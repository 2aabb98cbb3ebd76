"""The one place where the rewards service's dependencies are wired.

`build_app` takes every dependency as a keyword with a production default, so a test can
build the whole service with fakes in one call. Building connects to nothing: engines,
Redis clients and gRPC channels open their connections on first use, inside the workers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from linli.rewards.v1 import recognition_service_pb2 as recognition_pb
from linli.rewards.v1 import recognition_service_pb2_grpc as recognition_grpc
from linli.rewards.v1 import rewards_service_pb2 as pb
from linli.rewards.v1 import rewards_service_pb2_grpc as pb_grpc

from linli_kit import auth, metrics, schedules
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.domain import Clock, utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.paseto import dev_seeds
from linli_kit.streams import OutboxRelay
from linli_rewards.adapters import events, orm
from linli_rewards.adapters.points_client import GrpcPoints
from linli_rewards.adapters.repositories import SqlRewardsUnitOfWork
from linli_rewards.adapters.vouchers import PasetoVouchers
from linli_rewards.config import RewardsSettings
from linli_rewards.entrypoints import recognition_api
from linli_rewards.entrypoints.grpc_api import LIMITS, POLICY, RewardsServicer
from linli_rewards.service_layer.ports import Points, RewardsUnitOfWork, VoucherSigner
from linli_rewards.service_layer.redemptions import Recovery, Saga

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RewardsService"].full_name
RECOGNITION_NAME = recognition_pb.DESCRIPTOR.services_by_name["RecognitionService"].full_name
Worker = Callable[[], Coroutine[Any, Any, None]]


def sql_uow_factory(plumbing: SqlPlumbing) -> Callable[[], RewardsUnitOfWork]:
    """A factory of SQL units of work over the rewards database."""
    return lambda: SqlRewardsUnitOfWork(plumbing.session_factory, plumbing.tables, plumbing.outbox)


def voucher_signer(settings: RewardsSettings) -> VoucherSigner:
    """The configured voucher keyring (or the development key)."""
    if settings.voucher_keys is not None:
        return PasetoVouchers(settings.voucher_keys.seeds(), settings.voucher_keys.current)
    return PasetoVouchers(dev_seeds("voucher"), "dev")


def _sold_out(community_id: str, item_id: str) -> None:
    metrics.REWARDS_STOCK_OUTS.labels(community_id, item_id).inc()


def recovery_job(recovery: Recovery) -> Callable[[datetime], None]:
    """One recovery sweep, its findings kept in the saga gauges."""

    def sweep(now: datetime) -> None:
        report = recovery.sweep(now)
        metrics.REWARDS_SAGAS_STALLED.set(report.stalled)
        metrics.REWARDS_SAGAS_UNSETTLED.set(report.failed)

    return sweep


def build_app(
    settings: RewardsSettings,
    *,
    uow_factory: Callable[[], RewardsUnitOfWork] | None = None,
    points: Points | None = None,
    verifier: auth.Verifier | None = None,
    clock: Clock = utc_now,
) -> GrpcApp:
    """The rewards gRPC app (rewards and recognition) with its outbox relay and saga recovery."""
    # A given unit-of-work factory is used as is, without an outbox relay: the events stay
    # with whoever made the units of work. Points and identity are asked over gRPC channels
    # (mutual TLS when tls_dir is set) unless given; partners, on every partner's call, for
    # what it may do.
    workers: list[Worker] = []
    on_stop = []
    if uow_factory is None:
        plumbing = sql_plumbing(
            settings.database_url,
            orm.runtime,
            f"{settings.stream_prefix}rewards.events",
            events.encode,
        )
        uow_factory = sql_uow_factory(plumbing)
        relay = OutboxRelay.of(plumbing, settings.redis_url)
        workers.append(relay.run)

        async def dispose() -> None:
            plumbing.engine.dispose()

        on_stop.append(dispose)
    tls = auth.TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
    if points is None:
        points_channel = auth.channel(settings.points_address, tls)
        points = GrpcPoints(points_channel, settings.points_timeout_seconds)

        async def close_points() -> None:
            points_channel.close()

        on_stop.append(close_points)
    if verifier is None:
        identity = auth.channel(settings.identity_address, tls)
        verifier = auth.identity_keys(identity)

        async def close_identity() -> None:
            identity.close()

        on_stop.append(close_identity)
    partners_channel = auth.channel(settings.partners_address, tls)

    async def close_partners() -> None:
        partners_channel.close()

    on_stop.append(close_partners)
    signer = voucher_signer(settings)
    saga = Saga(uow_factory, points, signer, clock, on_sold_out=_sold_out)
    # Unfenced: harmless on two replicas at once, every step is stored only from the state it
    # read, and every call to points is idempotent by the redemption's request ids.
    recovery = schedules.every(
        "rewards.saga-recovery",
        settings.recovery_sweep_seconds,
        recovery_job(Recovery(saga, settings.stall_seconds)),
        clock=clock,
    )
    workers.append(recovery.run)
    servicer = RewardsServicer(uow_factory, saga, signer, clock)
    recognition = recognition_api.RecognitionServicer(uow_factory, points, clock)

    def register(server: object) -> None:
        pb_grpc.add_RewardsServiceServicer_to_server(servicer, server)
        recognition_grpc.add_RecognitionServiceServicer_to_server(recognition, server)

    return GrpcApp(
        "rewards",
        register,
        policies={SERVICE_NAME: POLICY, RECOGNITION_NAME: recognition_api.POLICY},
        verifier=verifier,
        background=workers,
        on_stop=on_stop,
        limits={SERVICE_NAME: LIMITS, RECOGNITION_NAME: recognition_api.LIMITS},
        partners=auth.PartnersOverGrpc(partners_channel),
    )
