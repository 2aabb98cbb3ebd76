"""The one place where the attendance service's dependencies are wired."""

from __future__ import annotations

from collections.abc import Callable

from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.adapters import events, orm
from linli_attendance.adapters.identity_client import GrpcResidentDirectory
from linli_attendance.adapters.repositories import SqlAttendanceUnitOfWork
from linli_attendance.config import AttendanceSettings
from linli_attendance.entrypoints.grpc_api import AttendanceServicer
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AttendanceService"].full_name


def uow_factory(plumbing: SqlPlumbing) -> Callable[[], AttendanceUnitOfWork]:
    """A factory of SQL units of work over the attendance database."""
    return lambda: SqlAttendanceUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox
    )


def build_app(settings: AttendanceSettings) -> GrpcApp:
    """The attendance gRPC app with its outbox relay."""
    plumbing = sql_plumbing(
        settings.database_url,
        orm.runtime,
        f"{settings.stream_prefix}attendance.events",
        events.encode,
    )
    make_uow = uow_factory(plumbing)
    residents = GrpcResidentDirectory(settings.identity_address)
    relay = OutboxRelay(plumbing.session_factory, orm.runtime.outbox, settings.redis_url)

    def register(server: object) -> None:
        pb_grpc.add_AttendanceServiceServicer_to_server(
            AttendanceServicer(make_uow, residents), server
        )

    async def close() -> None:
        residents.close()
        plumbing.engine.dispose()

    return GrpcApp("attendance", register, [SERVICE_NAME], [relay.run], [close])
