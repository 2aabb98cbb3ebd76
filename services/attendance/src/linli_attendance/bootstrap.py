"""The one place where the attendance service's dependencies are wired."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.adapters import events, orm
from linli_attendance.adapters.identity_client import GrpcFaceIdentifier, GrpcResidentDirectory
from linli_attendance.adapters.repositories import SqlAttendanceUnitOfWork
from linli_attendance.config import AttendanceSettings
from linli_attendance.entrypoints.grpc_api import AttendanceServicer
from linli_attendance.service_layer import handlers
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AttendanceService"].full_name
log = logging.getLogger(__name__)


def uow_factory(plumbing: SqlPlumbing) -> Callable[[], AttendanceUnitOfWork]:
    """A factory of SQL units of work over the attendance database."""
    return lambda: SqlAttendanceUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox
    )


def forgotten_sweeper(
    make_uow: Callable[[], AttendanceUnitOfWork], every_seconds: float
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background job closing forgotten sign-outs for staff review, every so often."""

    async def run() -> None:
        while True:
            try:
                closed = await asyncio.to_thread(handlers.close_forgotten_sessions, make_uow())
                if closed:
                    log.info("held %d forgotten sign-outs for staff review", closed)
            except Exception:
                # A failing database must not kill the service; the next round retries.
                log.exception("closing forgotten sign-outs failed; retrying")
            await asyncio.sleep(every_seconds)

    return run


def build_app(settings: AttendanceSettings) -> GrpcApp:
    """The attendance gRPC app with its outbox relay and forgotten sign-out sweeper."""
    plumbing = sql_plumbing(
        settings.database_url,
        orm.runtime,
        f"{settings.stream_prefix}attendance.events",
        events.encode,
    )
    make_uow = uow_factory(plumbing)
    residents = GrpcResidentDirectory(settings.identity_address)
    faces = GrpcFaceIdentifier(residents.channel, settings.face_timeout_seconds)
    relay = OutboxRelay(plumbing.session_factory, orm.runtime.outbox, settings.redis_url)

    def register(server: object) -> None:
        pb_grpc.add_AttendanceServiceServicer_to_server(
            AttendanceServicer(make_uow, residents, faces), server
        )

    async def close() -> None:
        residents.close()
        plumbing.engine.dispose()

    return GrpcApp(
        "attendance",
        register,
        [SERVICE_NAME],
        [relay.run, forgotten_sweeper(make_uow, settings.forgotten_sweep_seconds)],
        [close],
    )
