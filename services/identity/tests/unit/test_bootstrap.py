"""The whole identity app built in one call with fakes, served in-process, called over gRPC."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters.gallery import Galleries
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.domain.consent import FaceEnrolment
from linli_kit import auth
from linli_kit.auth import with_metadata
from linli_kit.grpc_server import start
from linli_kit.paseto import dev_seeds
from linli_kit.testing import Credentials, until

from .conftest import fakes

NOWHERE = IdentitySettings(
    database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", redis_url="redis://127.0.0.1:1/0"
)


def operator(credentials: Credentials) -> tuple[grpc.aio.ClientInterceptor]:
    """Call as an sre of c-east."""
    return (with_metadata(credentials.person("c-east", "operator", "sre")),)


async def test_the_app_built_on_fakes_answers_over_grpc(identity) -> None:
    created = await identity.stub.CreateCommunity(
        pb.CreateCommunityRequest(community_id="c-east", display_name="East Gate", request_id="q1")
    )
    found = await identity.stub.GetCommunity(pb.GetCommunityRequest(name="communities/c-east"))

    assert created.community.name == found.community.name == "communities/c-east"
    assert found.community.display_name == "East Gate"
    assert list(identity.uow.communities.rows) == ["c-east"]
    assert [c.created for c in identity.streams.consumers] == [True]


def test_building_connects_to_nothing() -> None:
    """Unreachable database and Redis: building succeeds, since nothing connects until start."""
    app = build_app(NOWHERE, engine=fakes.FakeFaceEngine())

    assert app.name == "identity" and len(app.background) == 3


async def test_the_group_is_created_before_the_galleries_load(uow, credentials) -> None:
    """An event between the load and the group's creation would be missed: the group is first."""
    engine = fakes.FakeFaceEngine()
    template = engine.analyse(b"face:ann:front").template
    uow.templates.put(
        FaceEnrolment(
            community_id="c-east",
            resident_id="r-ann",
            consent_id="c1",
            template=template,
            enrolled_at=datetime(2025, 3, 1, tzinfo=UTC),
        )
    )
    galleries = Galleries(engine.name, engine.model_version, engine.dimension)
    in_gallery_at_group_creation: list[bool] = []
    streams = fakes.FakeStreams(
        lambda: in_gallery_at_group_creation.append("r-ann" in galleries.for_community("c-east"))
    )
    app = build_app(
        NOWHERE,
        uow_factory=lambda: uow,
        engine=engine,
        galleries=galleries,
        streams=streams,
        verifier=credentials.verifier(),
    )
    running = await start(app, "127.0.0.1", 0)
    try:
        await until(lambda: "r-ann" in galleries.for_community("c-east"))
        assert in_gallery_at_group_creation == [False]
        address = f"127.0.0.1:{running.port}"
        async with grpc.aio.insecure_channel(
            address, interceptors=operator(credentials)
        ) as channel:
            stub = pb_grpc.IdentityServiceStub(channel)
            await stub.CreateCommunity(
                pb.CreateCommunityRequest(community_id="c-east", display_name="East")
            )
    finally:
        await running.stop(grace=0)
    assert streams.closed


async def test_the_dev_flag_publishes_the_dev_key_and_login_runs_on_the_built_app(
    uow, credentials
) -> None:
    """The default wiring: the dev key in the JWKS and trusted, the log sender, the audit."""
    dev_key = auth.SigningKey(
        "dev", Ed25519PrivateKey.from_private_bytes(dev_seeds("signing")["dev"])
    )
    signed_by_dev = Credentials(dev_key, credentials.ca)
    settings = NOWHERE.model_copy(update={"dev_signing_keys": True})
    app = build_app(
        settings,
        uow_factory=lambda: uow,
        engine=fakes.FakeFaceEngine(),
        streams=fakes.FakeStreams(),
    )
    running = await start(app, "127.0.0.1", 0)
    try:
        address = f"127.0.0.1:{running.port}"
        async with grpc.aio.insecure_channel(
            address, interceptors=operator(signed_by_dev)
        ) as channel:
            stub = pb_grpc.IdentityServiceStub(channel)
            jwks = await stub.GetJwks(pb.GetJwksRequest())
            await stub.CreateCommunity(
                pb.CreateCommunityRequest(community_id="c-east", display_name="East")
            )
            await stub.RequestLoginCode(
                pb.RequestLoginCodeRequest(parent="communities/c-east", phone="13800000001")
            )
    finally:
        await running.stop(grace=0)
    assert [key.kid for key in jwks.keys] == ["dev"]
    assert uow.auth_events.kinds() == ["login_code_requested"]
