"""The one place where the identity service's dependencies are wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial

import redis
import sqlalchemy as sa
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters import events, orm
from linli_identity.adapters.gallery import Galleries
from linli_identity.adapters.repositories import SqlIdentityUnitOfWork, load_galleries
from linli_identity.adapters.template_cipher import TemplateCipher, dev_keyring
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.consumers import GallerySync
from linli_identity.entrypoints.grpc_api import IdentityServicer
from linli_identity.service_layer import face_handlers
from linli_identity.service_layer.face_port import FaceEngine
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.grpc_server import GrpcApp
from linli_kit.streams import OutboxRelay, StreamConsumer

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["IdentityService"].full_name
log = logging.getLogger(__name__)


def uow_factory(plumbing: SqlPlumbing, cipher: TemplateCipher) -> Callable[[], IdentityUnitOfWork]:
    """A factory of SQL units of work over the identity database."""
    return lambda: SqlIdentityUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox, cipher=cipher
    )


def build_face_engine(settings: IdentitySettings) -> FaceEngine:
    """The configured face engine; build one per process, it holds the models in memory."""
    if settings.face_engine == "insightface":
        from linli_identity.adapters.face_insightface import InsightFaceEngine

        assert settings.face_model_dir is not None  # checked by the settings validator
        return InsightFaceEngine(settings.face_model_dir)
    from linli_identity.adapters.face_dlib import DlibFaceEngine

    return DlibFaceEngine()


def build_cipher(settings: IdentitySettings) -> TemplateCipher:
    """The template cipher over the configured keyrings (and dev keys if enabled)."""
    if settings.dev_template_keys:
        log.warning(
            "face templates of communities without a configured key use a PUBLIC dev "
            "key (LINLI_IDENTITY_DEV_TEMPLATE_KEYS): never enable this in production"
        )
    return TemplateCipher(
        settings.keyrings(), fallback=dev_keyring if settings.dev_template_keys else None
    )


def rotate_template_keys(
    settings: IdentitySettings, community_id: str, batch: int = face_handlers.ROTATION_BATCH
) -> tuple[int, str]:
    """Re-encrypt a community's templates under its current key, without serving (the CLI)."""
    plumbing = sql_plumbing(settings.database_url, orm.runtime, _stream(settings), events.encode)
    try:
        command = face_handlers.RotateTemplateKeys(community_id)
        uow = uow_factory(plumbing, build_cipher(settings))()
        return face_handlers.rotate_template_keys(command, uow, batch)
    finally:
        plumbing.engine.dispose()


def _stream(settings: IdentitySettings) -> str:
    return f"{settings.stream_prefix}identity.events"


def build_app(
    settings: IdentitySettings,
    engine: FaceEngine | None = None,
    galleries: Galleries | None = None,
) -> GrpcApp:
    """The identity gRPC app, its galleries loaded from the database, with its workers.

    Tests pass an engine (to load the models once) and galleries (to look inside them).
    """
    stream = _stream(settings)
    plumbing = sql_plumbing(settings.database_url, orm.runtime, stream, events.encode)
    cipher = build_cipher(settings)
    make_uow = uow_factory(plumbing, cipher)
    engine = engine or build_face_engine(settings)
    galleries = galleries or Galleries(engine.name, engine.model_version, engine.dimension)
    # Every replica reads every face event in its own group. The group is created at the
    # stream's end *before* the galleries load, so nothing between the two is missed.
    sync_group = f"identity-gallery-{settings.replica_id}"
    with redis.Redis.from_url(settings.redis_url) as client:
        _create_group(client, stream, sync_group)
    sync = StreamConsumer(
        settings.redis_url,
        stream,
        group=sync_group,
        consumer=settings.replica_id,
        handlers=GallerySync(make_uow, galleries).handlers(),
    )
    loaded = load_galleries(
        plumbing.session_factory, cipher, galleries, engine.name, engine.model_version
    )
    log.info("loaded %d face templates into the galleries", loaded)
    relay = OutboxRelay(plumbing.session_factory, orm.runtime.outbox, settings.redis_url)

    async def sweep_lapsed_consents() -> None:
        while True:
            try:
                closed = await asyncio.to_thread(
                    partial(face_handlers.expire_face_consents, make_uow(), galleries)
                )
            except sa.exc.SQLAlchemyError:
                log.exception("lapsed-consent sweep failed; retrying at the next interval")
            else:
                if closed:
                    log.info("closed %d lapsed face consents and deleted their templates", closed)
            await asyncio.sleep(settings.consent_sweep_seconds)

    def register(server: object) -> None:
        servicer = IdentityServicer(make_uow, engine, galleries)
        pb_grpc.add_IdentityServiceServicer_to_server(servicer, server)

    async def close() -> None:
        await sync.close()
        # The group is this replica's alone: drop it so stopped pods leave nothing behind.
        with (
            contextlib.suppress(redis.RedisError),
            redis.Redis.from_url(settings.redis_url) as client,
        ):
            client.xgroup_destroy(stream, sync_group)
        plumbing.engine.dispose()

    return GrpcApp(
        "identity",
        register,
        [SERVICE_NAME],
        [relay.run, sync.run, sweep_lapsed_consents],
        [close],
    )


def _create_group(client: redis.Redis, stream: str, group: str) -> None:
    try:
        client.xgroup_create(stream, group, id="$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
