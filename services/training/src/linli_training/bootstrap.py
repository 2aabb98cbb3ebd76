"""The one place where the training service's dependencies are wired.

`build_app` takes every dependency as a keyword with a production default, so a test can
build the whole service with fakes in one call. Building connects to nothing: engines,
Redis clients and gRPC channels open their connections on first use, inside the workers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from linli.training.v1 import assessment_service_pb2 as assessment_pb
from linli.training.v1 import assessment_service_pb2_grpc as assessment_grpc
from linli.training.v1 import training_service_pb2 as pb
from linli.training.v1 import training_service_pb2_grpc as pb_grpc

from linli_kit import auth, metrics, schedules
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.deadletters import DeadLetters
from linli_kit.domain import Clock, utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import EnvelopeHandler, OutboxRelay, StreamConsumer
from linli_training.adapters import events, orm
from linli_training.adapters.attendance_client import GrpcAttendance
from linli_training.adapters.repositories import SqlTrainingUnitOfWork
from linli_training.config import TrainingSettings
from linli_training.entrypoints import assessment_api, grpc_api
from linli_training.entrypoints.consumers import AttendanceEvents, IdentityEvents
from linli_training.service_layer.ports import Attendance, TrainingUnitOfWork
from linli_training.service_layer.reports import standings

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrainingService"].full_name
ASSESSMENT_NAME = assessment_pb.DESCRIPTOR.services_by_name["AssessmentService"].full_name
CONSUMED = ("attendance.events", "identity.events")
Worker = Callable[[], Coroutine[Any, Any, None]]


class Consumer(Protocol):
    """A stream consumer as the app runs it."""

    async def run(self) -> None: ...

    async def close(self) -> None: ...


ConsumerFactory = Callable[[str, dict[str, EnvelopeHandler]], Consumer]


def sql_uow_factory(plumbing: SqlPlumbing) -> Callable[[], TrainingUnitOfWork]:
    """A factory of SQL units of work over the training database."""
    return lambda: SqlTrainingUnitOfWork(plumbing.session_factory, plumbing.tables, plumbing.outbox)


def redis_consumers(settings: TrainingSettings) -> ConsumerFactory:
    """Consumers (group "training") of the shared Redis streams, named after this replica."""

    def consumer(stream: str, routes: dict[str, EnvelopeHandler]) -> Consumer:
        return StreamConsumer(
            settings.redis_url,
            f"{settings.stream_prefix}{stream}",
            group="training",
            consumer=settings.consumer_name,
            handlers=routes,
            max_deliveries=settings.max_deliveries,
            claim_idle_ms=settings.claim_idle_ms,
        )

    return consumer


def gauges_job(
    uow_factory: Callable[[], TrainingUnitOfWork], target_hours: int
) -> Callable[[datetime], None]:
    """One measurement of every community's teaching shortfall and overdue allowances."""

    def measure(now: datetime) -> None:
        for found in standings(uow_factory, target_hours, now):
            metrics.TRAINING_TEACHING_TARGET.labels(found.community_id).set(found.target_minutes)
            metrics.TRAINING_TEACHING_SHORTFALL.labels(found.community_id).set(
                found.shortfall_minutes
            )
            metrics.TRAINING_ALLOWANCES_UNPAID.labels(found.community_id).set(
                found.overdue_allowances
            )

    return measure


def build_app(
    settings: TrainingSettings,
    *,
    uow_factory: Callable[[], TrainingUnitOfWork] | None = None,
    attendance: Attendance | None = None,
    consumers: ConsumerFactory | None = None,
    verifier: auth.Verifier | None = None,
    clock: Clock = utc_now,
) -> GrpcApp:
    """The training gRPC app (training and assessment) with its relay and consumers."""
    # A given unit-of-work factory is used as is, without an outbox relay: the events stay
    # with whoever made the units of work. Attendance and identity are asked over gRPC
    # channels (mutual TLS when tls_dir is set) unless given.
    workers: list[Worker] = []
    on_stop: list[Callable[[], Awaitable[None]]] = []
    if uow_factory is None:
        plumbing = sql_plumbing(
            settings.database_url,
            orm.runtime,
            f"{settings.stream_prefix}training.events",
            events.encode,
        )
        uow_factory = sql_uow_factory(plumbing)
        relay = OutboxRelay.of(plumbing, settings.redis_url)
        workers.append(relay.run)

        async def dispose() -> None:
            plumbing.engine.dispose()

        on_stop.append(dispose)
    tls = auth.TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
    if attendance is None:
        attendance_channel = auth.channel(settings.attendance_address, tls)
        attendance = GrpcAttendance(attendance_channel, settings.attendance_timeout_seconds)

        async def close_attendance() -> None:
            attendance_channel.close()

        on_stop.append(close_attendance)
    if verifier is None:
        identity = auth.channel(settings.identity_address, tls)
        verifier = auth.identity_keys(identity)

        async def close_identity() -> None:
            identity.close()

        on_stop.append(close_identity)
    letters = (
        None if consumers else DeadLetters(settings.redis_url, settings.stream_prefix, CONSUMED)
    )
    consumer = consumers or redis_consumers(settings)
    streams = [
        consumer("attendance.events", AttendanceEvents(uow_factory).handlers()),
        consumer("identity.events", IdentityEvents(uow_factory).handlers()),
    ]
    workers += [s.run for s in streams]
    # Unfenced: it only reads, and every replica's gauges tell the same.
    workers.append(
        schedules.every(
            "training.gauges",
            settings.gauge_sweep_seconds,
            gauges_job(uow_factory, settings.teaching_target_hours),
            clock=clock,
        ).run
    )
    on_stop[:0] = [s.close for s in streams]
    training = grpc_api.TrainingServicer(
        uow_factory, attendance, settings.teaching_target_hours, clock
    )
    assessment = assessment_api.AssessmentServicer(uow_factory, clock, settings.bands_of)

    def register(server: Any) -> None:
        pb_grpc.add_TrainingServiceServicer_to_server(training, server)
        assessment_grpc.add_AssessmentServiceServicer_to_server(assessment, server)

    return GrpcApp(
        "training",
        register,
        policies={SERVICE_NAME: grpc_api.POLICY, ASSESSMENT_NAME: assessment_api.POLICY},
        verifier=verifier,
        background=workers,
        on_stop=on_stop,
        dead_letters=letters,
        limits={SERVICE_NAME: grpc_api.LIMITS, ASSESSMENT_NAME: assessment_api.LIMITS},
    )
