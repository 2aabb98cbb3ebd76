"""The one place where the attendance service's dependencies are wired.

`build_app` takes every dependency as a keyword with a production default, so a test can
build the whole service with fakes in one call. Building connects to nothing: engines,
Redis clients and gRPC channels open their connections on first use, inside the workers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.adapters import events, orm
from linli_attendance.adapters.identity_client import GrpcFaceIdentifier, GrpcResidentDirectory
from linli_attendance.adapters.repositories import SqlAttendanceUnitOfWork
from linli_attendance.config import AttendanceSettings
from linli_attendance.entrypoints.grpc_api import LIMITS, POLICY, AttendanceServicer
from linli_attendance.service_layer.ports import (
    AttendanceUnitOfWork,
    FaceIdentifier,
    ResidentDirectory,
)
from linli_attendance.service_layer.sweeps import forgotten_sweep
from linli_kit import auth, schedules
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.domain import Clock, utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AttendanceService"].full_name
Worker = Callable[[], Coroutine[Any, Any, None]]


def sql_uow_factory(plumbing: SqlPlumbing) -> Callable[[], AttendanceUnitOfWork]:
    """A factory of SQL units of work over the attendance database."""
    return lambda: SqlAttendanceUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox
    )


def build_app(
    settings: AttendanceSettings,
    *,
    uow_factory: Callable[[], AttendanceUnitOfWork] | None = None,
    residents: ResidentDirectory | None = None,
    faces: FaceIdentifier | None = None,
    verifier: auth.Verifier | None = None,
    clock: Clock = utc_now,
) -> GrpcApp:
    """The attendance gRPC app with its outbox relay and forgotten sign-out sweep."""
    # A given unit-of-work factory is used as is, without an outbox relay: the events stay
    # with whoever made the units of work. Ports not given ask identity over one gRPC channel
    # (mutual TLS when tls_dir is set), as does the default verifier for identity's JWKS.
    workers: list[Worker] = []
    on_stop = []
    if uow_factory is None:
        plumbing = sql_plumbing(
            settings.database_url,
            orm.runtime,
            f"{settings.stream_prefix}attendance.events",
            events.encode,
        )
        uow_factory = sql_uow_factory(plumbing)
        relay = OutboxRelay.of(plumbing, settings.redis_url)  # a SessionCompleted leaves at once
        workers.append(relay.run)

        async def dispose() -> None:
            plumbing.engine.dispose()

        on_stop.append(dispose)
    if residents is None or faces is None or verifier is None:
        tls = auth.TlsFiles.from_dir(settings.tls_dir) if settings.tls_dir else None
        identity = auth.channel(settings.identity_address, tls)
        residents = residents or GrpcResidentDirectory(identity)
        faces = faces or GrpcFaceIdentifier(identity, settings.face_timeout_seconds)
        verifier = verifier or auth.identity_keys(identity)

        async def close_identity() -> None:
            identity.close()

        on_stop.append(close_identity)
    limits = settings.limit_book
    # Unfenced: harmless on two replicas at once, each closes the open sessions it locked
    # (SKIP LOCKED) and a closed session is no longer open (README, "Scheduled jobs").
    sweep = schedules.every(
        "attendance.forgotten-sign-outs",
        settings.forgotten_sweep_seconds,
        forgotten_sweep(uow_factory, limits),
        clock=clock,
    )
    workers.append(sweep.run)
    servicer = AttendanceServicer(uow_factory, residents, faces, limits, clock)

    def register(server: object) -> None:
        pb_grpc.add_AttendanceServiceServicer_to_server(servicer, server)

    return GrpcApp(
        "attendance",
        register,
        policies={SERVICE_NAME: POLICY},
        verifier=verifier,
        background=workers,
        on_stop=on_stop,
        max_message_bytes=settings.max_message_bytes,
        limits={SERVICE_NAME: LIMITS},
    )
