"""The one place where the identity service's dependencies are wired."""

from __future__ import annotations

from collections.abc import Callable

from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay

from linli_identity.adapters import events, orm
from linli_identity.adapters.repositories import SqlIdentityUnitOfWork
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.grpc_api import IdentityServicer
from linli_identity.service_layer.ports import IdentityUnitOfWork

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["IdentityService"].full_name


def uow_factory(plumbing: SqlPlumbing) -> Callable[[], IdentityUnitOfWork]:
    """A factory of SQL units of work over the identity database."""
    return lambda: SqlIdentityUnitOfWork(plumbing.session_factory, plumbing.tables,
                                         plumbing.outbox)


def build_app(settings: IdentitySettings) -> GrpcApp:
    """The identity gRPC app with its outbox relay."""
    plumbing = sql_plumbing(settings.database_url, orm.runtime,
                            f"{settings.stream_prefix}identity.events", events.encode)
    make_uow = uow_factory(plumbing)
    relay = OutboxRelay(plumbing.session_factory, orm.runtime.outbox, settings.redis_url)

    def register(server: object) -> None:
        pb_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(make_uow), server)

    async def close() -> None:
        plumbing.engine.dispose()

    return GrpcApp("identity", register, [SERVICE_NAME], [relay.run], [close])
