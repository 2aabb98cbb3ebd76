"""The one place where the partners service's dependencies are wired.

`build_app` takes every dependency as a keyword with a production default, so a test can
build the whole service with fakes in one call. Building connects to nothing: engines,
Redis clients and gRPC channels open their connections on first use, inside the workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from linli.partners.v1 import partners_service_pb2 as pb
from linli.partners.v1 import partners_service_pb2_grpc as pb_grpc
from linli.partners.v1 import support_service_pb2 as support_pb
from linli.partners.v1 import support_service_pb2_grpc as support_grpc

from linli_kit import auth
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.domain import Clock, utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.paseto import PasetoKeyring, dev_seeds
from linli_kit.streams import OutboxRelay
from linli_partners.adapters import events, orm
from linli_partners.adapters.directory import LocalPartners
from linli_partners.adapters.eligibility import HmacCodes, PartnerQuota, PasetoProofs
from linli_partners.adapters.points_client import GrpcPoints
from linli_partners.adapters.repositories import SqlPartnersUnitOfWork
from linli_partners.config import PartnersSettings
from linli_partners.entrypoints import support_api
from linli_partners.entrypoints.board_watch import BoardWatch
from linli_partners.entrypoints.grpc_api import LIMITS, POLICY, PartnersServicer
from linli_partners.service_layer.ports import PartnersUnitOfWork, Points

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PartnersService"].full_name
SUPPORT_NAME = support_pb.DESCRIPTOR.services_by_name["SupportService"].full_name
Worker = Callable[[], Coroutine[Any, Any, None]]


def sql_uow_factory(plumbing: SqlPlumbing) -> Callable[[], PartnersUnitOfWork]:
    """A factory of SQL units of work over the partners database."""
    return lambda: SqlPartnersUnitOfWork(plumbing.session_factory, plumbing.tables, plumbing.outbox)


def proof_seeds(settings: PartnersSettings) -> tuple[dict[str, bytes], str]:
    """The configured proof keyring's seeds and current key id (or the development key)."""
    if settings.proof_keys is not None:
        return settings.proof_keys.seeds(), settings.proof_keys.current
    return dev_seeds("eligibility-proof"), "dev"


def build_app(
    settings: PartnersSettings,
    *,
    uow_factory: Callable[[], PartnersUnitOfWork] | None = None,
    points: Points | None = None,
    verifier: auth.Verifier | None = None,
    clock: Clock = utc_now,
) -> GrpcApp:
    """The partners gRPC app (partners, and funds and grants) with its outbox relay."""
    # A given unit-of-work factory is used as is, without an outbox relay: the events stay
    # with whoever made the units of work. Points and identity are asked over gRPC channels
    # (mutual TLS when tls_dir is set) unless given.
    workers: list[Worker] = []
    on_stop = []
    if uow_factory is None:
        plumbing = sql_plumbing(
            settings.database_url,
            orm.runtime,
            f"{settings.stream_prefix}partners.events",
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
    seeds, current = proof_seeds(settings)
    # Residents' codes are HMACs under a key derived from the current proof key.
    codes = HmacCodes(hashlib.sha256(b"linli-eligibility-codes:" + seeds[current]).digest())
    servicer = PartnersServicer(
        uow_factory,
        points,
        codes,
        PasetoProofs(PasetoKeyring(seeds, current)),
        PartnerQuota(),
        BoardWatch(uow_factory, settings.board_poll_seconds),
        settings.title_threshold,
        clock,
    )
    support = support_api.SupportServicer(uow_factory, clock)

    def register(server: object) -> None:
        pb_grpc.add_PartnersServiceServicer_to_server(servicer, server)
        support_grpc.add_SupportServiceServicer_to_server(support, server)

    return GrpcApp(
        "partners",
        register,
        policies={SERVICE_NAME: POLICY, SUPPORT_NAME: support_api.POLICY},
        verifier=verifier,
        background=workers,
        on_stop=on_stop,
        limits={SERVICE_NAME: LIMITS, SUPPORT_NAME: support_api.LIMITS},
        partners=LocalPartners(uow_factory),
    )
