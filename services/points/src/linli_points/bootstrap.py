"""The one place where the points service's dependencies are wired."""

from __future__ import annotations

from collections.abc import Callable

from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay, StreamConsumer
from linli_points.adapters import events, orm
from linli_points.adapters.ledger import SqlPointsUnitOfWork
from linli_points.config import PointsSettings
from linli_points.entrypoints.consumers import AttendanceEvents
from linli_points.entrypoints.grpc_api import PointsServicer
from linli_points.service_layer.ports import PointsUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PointsService"].full_name


def uow_factory(plumbing: SqlPlumbing) -> Callable[[], PointsUnitOfWork]:
    """A factory of SQL units of work over the points database."""
    return lambda: SqlPointsUnitOfWork(plumbing.session_factory, plumbing.tables, plumbing.outbox)


def build_app(settings: PointsSettings) -> GrpcApp:
    """The points gRPC app with its outbox relay and attendance-events consumer."""
    plumbing = sql_plumbing(
        settings.database_url, orm.runtime, f"{settings.stream_prefix}points.events", events.encode
    )
    make_uow = uow_factory(plumbing)
    relay = OutboxRelay(plumbing.session_factory, orm.runtime.outbox, settings.redis_url)
    consumer = StreamConsumer(
        settings.redis_url,
        f"{settings.stream_prefix}attendance.events",
        group="points",
        consumer=settings.consumer_name,
        handlers=AttendanceEvents(make_uow).handlers(),
        max_deliveries=settings.max_deliveries,
        claim_idle_ms=settings.claim_idle_ms,
    )

    def register(server: object) -> None:
        pb_grpc.add_PointsServiceServicer_to_server(PointsServicer(make_uow), server)

    async def close() -> None:
        await consumer.close()
        plumbing.engine.dispose()

    return GrpcApp("points", register, [SERVICE_NAME], [relay.run, consumer.run], [close])
