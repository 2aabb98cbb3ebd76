"""The one place where the identity service's dependencies are wired.

Every dependency is a keyword parameter with a production default; building connects to
nothing (the database and Redis are reached by the workers and the first requests).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters import events, orm
from linli_identity.adapters.face_processes import ProcessFaceEngine
from linli_identity.adapters.gallery import Galleries, LoadingGalleries
from linli_identity.adapters.login_adapters import Argon2PasswordHasher, LoggingSmsSender
from linli_identity.adapters.signing import SigningKeyring
from linli_identity.adapters.streams import RedisStreams
from linli_identity.adapters.template_cipher import TemplateCipher
from linli_identity.adapters.unit_of_work import SqlIdentityUnitOfWork
from linli_identity.config import IdentitySettings
from linli_identity.domain.key_rotation import KeyRotation
from linli_identity.domain.residents import Resident
from linli_identity.domain.template_keys import dev_keyring
from linli_identity.entrypoints.consumers import GalleryFollower, GallerySync, GroupConsumer
from linli_identity.entrypoints.face_work import FaceWork
from linli_identity.entrypoints.grpc_api import LIMITS, POLICY, IdentityServicer
from linli_identity.service_layer import consents, faces, key_rotation, operators, sessions
from linli_identity.service_layer.commands import RotateTemplateKeys
from linli_identity.service_layer.face_port import FaceEngine
from linli_identity.service_layer.login_port import LoginPorts, NoSigningKeys, TokenSigner
from linli_identity.service_layer.operators import CommunityBootstrap
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit import auth, ratelimits, schedules
from linli_kit.db import SqlPlumbing, sql_plumbing
from linli_kit.deadletters import DeadLetters
from linli_kit.domain import Clock, utc_now
from linli_kit.grpc_server import GrpcApp
from linli_kit.paseto import dev_seeds
from linli_kit.principals import SYSTEM
from linli_kit.streams import EnvelopeHandler

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["IdentityService"].full_name
log = logging.getLogger(__name__)


class Streams(Protocol):
    """What the app needs of identity.events (adapters.streams.RedisStreams in production)."""

    def relay(self) -> Callable[[], Coroutine[Any, Any, None]]: ...

    def follow(
        self, group: str, consumer: str, handlers: dict[str, EnvelopeHandler]
    ) -> GroupConsumer: ...

    async def close(self) -> None: ...


def face_engine_recipe(settings: IdentitySettings) -> Callable[[], FaceEngine]:
    """How to build the configured face engine (picklable: the worker processes build it)."""
    return engine_recipe(settings.face_engine, settings.face_model_dir)


def engine_recipe(engine: str, model_dir: Path | None) -> Callable[[], FaceEngine]:
    """How to build a face engine by name: dlib, or insightface on a model pack directory."""
    if engine == "insightface":
        from linli_identity.adapters.face_insightface import InsightFaceEngine

        if model_dir is None:
            raise ValueError("the insightface engine needs a model pack directory")
        return functools.partial(InsightFaceEngine, model_dir)
    from linli_identity.adapters.face_dlib import DlibFaceEngine

    return DlibFaceEngine


def build_face_engine(settings: IdentitySettings) -> FaceEngine:
    """The configured face engine in this process; it holds the models in memory."""
    return face_engine_recipe(settings)()


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


def build_signer(settings: IdentitySettings) -> TokenSigner:
    """The configured signing keyring (or the dev key, or none: login then answers UNAVAILABLE)."""
    if settings.signing_keys is not None:
        return SigningKeyring(settings.signing_keys.seeds(), settings.signing_keys.current)
    if settings.dev_signing_keys:
        log.warning(
            "access tokens are signed with a PUBLIC dev key (LINLI_IDENTITY_DEV_SIGNING_KEYS): "
            "never enable this in production"
        )
        return SigningKeyring(dev_seeds("signing"), "dev")
    log.warning("no signing keys (LINLI_IDENTITY_SIGNING_KEYS): login answers UNAVAILABLE")
    return NoSigningKeys()


def build_login(settings: IdentitySettings, clock: Clock = utc_now) -> LoginPorts:
    """The login ports: the development SMS sender, argon2id, the signing keyring."""
    return LoginPorts(LoggingSmsSender(), Argon2PasswordHasher(), build_signer(settings), clock)


def build_plumbing(settings: IdentitySettings) -> SqlPlumbing:
    """The engine, sessions and outbox of the identity database (lazy: nothing connects)."""
    return sql_plumbing(settings.database_url, orm.runtime, _stream(settings), events.encode)


def sql_units_of_work(
    plumbing: SqlPlumbing, cipher: TemplateCipher
) -> Callable[[], IdentityUnitOfWork]:
    """A factory of SQL units of work over the identity database."""
    return lambda: SqlIdentityUnitOfWork(
        plumbing.session_factory, plumbing.tables, plumbing.outbox, cipher=cipher
    )


def rotate_template_keys(
    settings: IdentitySettings, community_id: str, batch: int = key_rotation.ROTATION_BATCH
) -> KeyRotation:
    """Re-encrypt a community's templates under its current key, without serving (the CLI)."""
    plumbing = build_plumbing(settings)
    try:
        uow = sql_units_of_work(plumbing, build_cipher(settings))()
        return key_rotation.rotate_template_keys(
            RotateTemplateKeys(community_id, actor=SYSTEM), uow, batch
        )
    finally:
        plumbing.engine.dispose()


def development_token(settings: IdentitySettings, community_id: str, phone: str) -> str:
    """An access token for a person by phone, without serving (the CLI, for `make run`)."""
    plumbing = build_plumbing(settings)
    try:
        uow = sql_units_of_work(plumbing, build_cipher(settings))()
        return sessions.development_token(community_id, phone, uow, build_login(settings))
    finally:
        plumbing.engine.dispose()


def bootstrap_community(settings: IdentitySettings, spec: CommunityBootstrap) -> Resident:
    """Create a community and its first staff member if missing, without serving (the CLI)."""
    plumbing = build_plumbing(settings)
    try:
        make_uow = sql_units_of_work(plumbing, build_cipher(settings))
        return operators.bootstrap_community(spec, make_uow, build_login(settings))
    finally:
        plumbing.engine.dispose()


def _stream(settings: IdentitySettings) -> str:
    return f"{settings.stream_prefix}identity.events"


def build_app(
    settings: IdentitySettings,
    *,
    uow_factory: Callable[[], IdentityUnitOfWork] | None = None,
    clock: Clock = utc_now,
    engine: FaceEngine | None = None,
    galleries: Galleries | None = None,
    cipher: TemplateCipher | None = None,
    streams: Streams | None = None,
    login: LoginPorts | None = None,
    verifier: auth.Verifier | None = None,
    limits: ratelimits.Limits = LIMITS,
) -> GrpcApp:
    """The identity gRPC app with its workers: outbox relay, gallery sync, consent sweep.

    Tests pass an engine (to load the models once), galleries (to look inside them), or a
    fake unit of work and fake streams (to run the whole app without servers). Identity
    verifies access tokens with its own signing keys unless given another verifier; `limits`
    are the per-caller call limits (grpc_api.LIMITS unless a test needs more calls).
    """
    plumbing = build_plumbing(settings) if uow_factory is None or streams is None else None
    # The operations API serves the dead letters of identity.events (not with fake streams).
    letters = None
    if streams is None:
        letters = DeadLetters(settings.redis_url, settings.stream_prefix, ["identity.events"])
    if uow_factory is None:
        assert plumbing is not None
        uow_factory = sql_units_of_work(plumbing, cipher or build_cipher(settings))
    if streams is None:
        assert plumbing is not None
        streams = RedisStreams(settings.redis_url, _stream(settings), plumbing)
    make_uow = uow_factory
    login = login or build_login(settings, clock)
    signer = login.signer
    verifier = verifier or auth.PublishedKeys(lambda: {"keys": signer.jwks()})
    # The models live in worker processes (their encoders hold the GIL), unless a test
    # passes an engine; either way face calls run on the app's bounded face workers.
    workers = None
    if engine is None:
        engine = workers = ProcessFaceEngine(face_engine_recipe(settings), settings.face_workers)
    face_work = FaceWork(settings.face_workers, settings.face_queue)
    # Requests wait for the galleries until the follower has filled them.
    filled = LoadingGalleries(
        galleries or Galleries(engine.name, engine.model_version, engine.dimension)
    )

    def fill_galleries() -> int:
        loaded, stale = faces.load_galleries(
            make_uow(), filled.filling, engine.name, engine.model_version
        )
        if stale:
            log.warning("%d face templates from another engine or model need re-enrolment", stale)
        return loaded

    # Every replica reads every face event in a group of its own.
    follower = GalleryFollower(
        streams.follow(
            f"identity-gallery-{settings.replica_id}",
            settings.replica_id,
            GallerySync(make_uow, filled).handlers(),
        ),
        fill_galleries,
        filled.mark_loaded,
    )
    # Fenced: two replicas sweeping at once would both withdraw the same consents; the
    # others drop the templates from their galleries on the FaceConsentWithdrawn events.
    sweep = schedules.every(
        "identity.consent-sweep",
        settings.consent_sweep_seconds,
        consents.consent_sweep(make_uow, filled),
        fence=plumbing.engine if plumbing is not None else None,
        clock=clock,
    )

    person_keys = settings.person_keys()
    if settings.dev_federation_secret:
        log.warning(
            "person keys use a PUBLIC dev federation secret (LINLI_IDENTITY_DEV_FEDERATION_SECRET):"
            " never enable this in production"
        )

    def register(server: object) -> None:
        servicer = IdentityServicer(
            make_uow,
            engine,
            filled,
            clock,
            login=login,
            face_work=face_work,
            open_set=settings.open_set_book(),
            person_keys=person_keys,
        )
        pb_grpc.add_IdentityServiceServicer_to_server(servicer, server)

    async def close() -> None:
        face_work.close()
        if workers is not None:
            workers.close()
        await streams.close()
        if plumbing is not None:
            plumbing.engine.dispose()

    return GrpcApp(
        "identity",
        register,
        {SERVICE_NAME: POLICY},
        verifier,
        [streams.relay(), follower.run, sweep.run],
        [close],
        dead_letters=letters,
        max_message_bytes=settings.max_message_bytes,
        limits={SERVICE_NAME: limits},
    )
