"""Face consent, enrolment and identification over gRPC: real PostgreSQL, real dlib, real photos.

The identity app runs in-process on a free port; its galleries are passed in so the tests
can look inside them. The live burst is a head turn made of the Tom Hanks sample and its
mirror image: the face is turned about 28 degrees one way in the photo, so its mirror shows
the same person turned the other way (yaw ratio +0.53 then -0.53). That proves the service
wires real landmarks and templates through the liveness rule; it does not prove dlib follows
a real turning head (no such video is available here).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import io
import json
import os
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest
import sqlalchemy as sa
from linli.events.v1 import envelope_pb2
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc
from PIL import Image, ImageEnhance, ImageOps
from prometheus_client import REGISTRY

from linli_identity.adapters.face_dlib import DlibFaceEngine
from linli_identity.adapters.gallery import Galleries
from linli_identity.adapters.template_cipher import EncryptedTemplate, TemplateCipher
from linli_identity.bootstrap import build_app, build_cipher, build_plumbing, sql_units_of_work
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.cli import MIGRATIONS, main
from linli_identity.service_layer.faces import load_galleries
from linli_kit.auth import with_metadata
from linli_kit.db import make_engine, migrate
from linli_kit.grpc_server import GrpcApp, Transport, start
from linli_kit.testing import Credentials, until

C = "c-east"
KEYS = {C: {"current": "k1", "keys": {"k1": base64.b64encode(os.urandom(32)).decode()}}}
CHALLENGE_TURN = pb.LIVENESS_CHALLENGE_HEAD_TURN


def _image(name: str) -> Image.Image:
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("insightface (dev dependency) is not installed: no sample images")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    return Image.open(folder / name).convert("RGB")


def identifications(outcome: str) -> float:
    """How many kiosk identifications of the test community ended with `outcome` so far."""
    labels = {"community_id": C, "engine": "dlib", "outcome": outcome}
    return REGISTRY.get_sample_value("linli_identity_face_identifications_total", labels) or 0.0


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def engine() -> DlibFaceEngine:
    return DlibFaceEngine()


@pytest.fixture(scope="module")
def tom() -> Image.Image:
    return _image("Tom_Hanks_54745.png").resize((224, 224), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def stranger() -> bytes:
    """The leftmost face of the t1.jpg group photo, cropped with a margin."""
    group = _image("t1.jpg")
    import dlib

    rect = min(dlib.get_frontal_face_detector()(np.asarray(group), 0), key=lambda r: r.left())
    cx, cy, half = (
        (rect.left() + rect.right()) // 2,
        (rect.top() + rect.bottom()) // 2,
        rect.width(),
    )
    face = group.crop((cx - half, cy - half, cx + half, cy + half))
    return jpeg(face.resize((224, 224), Image.Resampling.BICUBIC))


def head_turn(image: Image.Image) -> list[bytes]:
    """Five frames turning from one side to the other, with camera-like light changes."""
    mirrored = ImageOps.mirror(image)
    frames = [
        image,
        ImageEnhance.Brightness(image).enhance(1.05),
        mirrored,
        ImageEnhance.Brightness(mirrored).enhance(0.95),
        image,
    ]
    return [jpeg(frame) for frame in frames]


@dataclass
class Callers:
    """Stubs of one served replica: as a staff operator (sre, social worker) and as a kiosk."""

    stub: pb_grpc.IdentityServiceStub
    kiosk: pb_grpc.IdentityServiceStub


@contextlib.asynccontextmanager
async def serving(app: GrpcApp, credentials: Credentials) -> AsyncIterator[Callers]:
    """Serve the app over mutual TLS; the operator's token and attendance's certificate call it."""
    running = await start(app, "127.0.0.1", 0, Transport(tls=credentials.tls(C, "identity")))
    address, tls = (
        f"localhost:{running.port}",
        credentials.tls(C, "attendance").channel_credentials(),
    )
    operator = with_metadata(credentials.person(C, "operator", "sre", "social_worker"))
    try:
        async with (
            grpc.aio.secure_channel(address, tls, interceptors=[operator]) as staff,
            grpc.aio.secure_channel(address, tls) as kiosk,
        ):
            yield Callers(pb_grpc.IdentityServiceStub(staff), pb_grpc.IdentityServiceStub(kiosk))
    finally:
        await running.stop(grace=0)


@dataclass
class Service:
    stub: pb_grpc.IdentityServiceStub
    kiosk: pb_grpc.IdentityServiceStub
    db: sa.Engine
    galleries: Galleries
    cipher: TemplateCipher
    settings: IdentitySettings
    credentials: Credentials

    def rows(self, table: str) -> list[sa.Row]:  # type: ignore[type-arg]
        with self.db.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT * FROM {table}")))

    def event_types(self) -> list[str]:
        envelopes = [envelope_pb2.EventEnvelope.FromString(r.envelope) for r in self.rows("outbox")]
        return [e.type.rsplit(".", 1)[-1] for e in envelopes]


@pytest.fixture
async def service(
    make_database, servers, stream_prefix, engine, credentials
) -> AsyncIterator[Service]:
    url = make_database("identity")
    migrate(url, MIGRATIONS)
    settings = IdentitySettings(
        database_url=url,
        redis_url=servers.redis,
        stream_prefix=stream_prefix,
        template_keys=KEYS,
        replica_id="a",
    )
    galleries = Galleries(engine.name, engine.model_version, engine.dimension)
    app = build_app(settings, engine=engine, galleries=galleries, verifier=credentials.verifier())
    db = make_engine(url)
    async with serving(app, credentials) as callers:
        stub = callers.stub
        await stub.CreateCommunity(pb.CreateCommunityRequest(community_id=C, display_name="East"))
        yield Service(
            stub, callers.kiosk, db, galleries, build_cipher(settings), settings, credentials
        )
    db.dispose()


async def register(service: Service, name: str, phone: str, birth_date: str = "") -> str:
    reply = await service.stub.RegisterResident(
        pb.RegisterResidentRequest(
            parent=f"communities/{C}",
            display_name=name,
            phone=phone,
            birth_date=birth_date,
        )
    )
    return reply.resident.name


async def consent(service: Service, resident: str, guardian: str = "") -> pb.FaceConsent:
    reply = await service.stub.GrantFaceConsent(
        pb.GrantFaceConsentRequest(
            parent=resident,
            policy_version="2026-01",
            retention_days=365,
            guardian=guardian,
            recorded_by="staff:li",
        )
    )
    return reply.consent


async def expect(code: grpc.StatusCode, call, match: str = "") -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    assert match.lower() in (caught.value.details() or "").lower()
    return caught.value.details() or ""


async def test_enrolment_needs_consent(service: Service, tom: Image.Image) -> None:
    resident = await register(service, "Tom", "13800000001")

    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        service.stub.EnrolFace(pb.EnrolFaceRequest(resident=resident, image=jpeg(tom))),
        "consent",
    )

    assert service.rows("face_templates") == [] and len(service.galleries.for_community(C)) == 0


async def test_enrol_then_identify_finds_the_person(
    service: Service, tom: Image.Image, stranger: bytes
) -> None:
    tom_name = await register(service, "Tom", "13800000001")
    other = await register(service, "Ann", "13800000002")
    for resident, photo in ((tom_name, jpeg(tom)), (other, stranger)):
        await consent(service, resident)
        reply = await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=resident, image=photo))
        assert reply.enrolment.engine == "dlib"
    identified_before = identifications("identified")

    found = await service.kiosk.IdentifyFace(
        pb.IdentifyFaceRequest(
            parent=f"communities/{C}",
            frames=head_turn(tom),
            challenge=CHALLENGE_TURN,
            candidates=[tom_name, other],
        )
    )

    assert found.resident == tom_name
    assert identifications("identified") == identified_before + 1
    decision = found.decision
    assert (decision.engine, decision.threshold, decision.matched) == ("dlib", 0.93, True)
    assert (decision.gallery_size, decision.outcome) == (2, pb.FACE_OUTCOME_IDENTIFIED)
    assert decision.similarity - decision.second_similarity >= decision.required_margin > 0
    assert decision.agreeing_frames == 5 and decision.verification_threshold == 0.93
    assert decision.similarity >= 0.93 and decision.model_version.startswith("resnet_model_v1")
    assert (decision.challenge, decision.frames) == (CHALLENGE_TURN, 5)
    verified = await service.kiosk.VerifyFace(
        pb.VerifyFaceRequest(
            resident=other,
            frames=head_turn(tom),
            challenge=CHALLENGE_TURN,
        )
    )
    assert not verified.decision.matched and verified.decision.similarity < 0.93
    assert service.event_types().count("FaceEnrolled") == 2
    # A restarted replica rebuilds the same galleries from the encrypted rows.
    fresh = Galleries("dlib", decision.model_version, 128)
    uow = sql_units_of_work(build_plumbing(service.settings), service.cipher)()
    loaded, _ = load_galleries(uow, fresh, "dlib", decision.model_version)
    assert loaded == 2 and tom_name.rsplit("/", 1)[-1] in fresh.for_community(C)


async def test_a_still_photo_replayed_as_a_burst_fails_liveness(
    service: Service, tom: Image.Image
) -> None:
    resident = await register(service, "Tom", "13800000001")
    await consent(service, resident)
    await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=resident, image=jpeg(tom)))
    refused_before = identifications("LivenessFailed")

    for challenge, why in (
        (CHALLENGE_TURN, "no head turn"),
        (pb.LIVENESS_CHALLENGE_BLINK, "no blink"),
    ):
        await expect(
            grpc.StatusCode.FAILED_PRECONDITION,
            service.kiosk.IdentifyFace(
                pb.IdentifyFaceRequest(
                    parent=f"communities/{C}",
                    frames=[jpeg(tom)] * 5,
                    challenge=challenge,
                    candidates=[resident],
                )
            ),
            why,
        )
    assert identifications("LivenessFailed") == refused_before + 2


async def test_withdrawal_deletes_the_template_everywhere(
    service: Service, tom: Image.Image
) -> None:
    resident = await register(service, "Tom", "13800000001")
    granted = await consent(service, resident)
    await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=resident, image=jpeg(tom)))
    identify = pb.IdentifyFaceRequest(
        parent=f"communities/{C}",
        frames=head_turn(tom),
        challenge=CHALLENGE_TURN,
        candidates=[resident],
    )
    assert (await service.kiosk.IdentifyFace(identify)).resident == resident

    withdraw = pb.WithdrawFaceConsentRequest(parent=resident, request_id="w-1")
    reply = await service.stub.WithdrawFaceConsent(withdraw)

    assert reply.deleted_templates == 1 and reply.consent.HasField("withdraw_time")
    # A retry reads the count the withdrawal recorded.
    assert await service.stub.WithdrawFaceConsent(withdraw) == reply
    assert service.rows("face_templates") == []
    assert resident.rsplit("/", 1)[-1] not in service.galleries.for_community(C)
    await expect(
        grpc.StatusCode.NOT_FOUND,
        service.kiosk.IdentifyFace(identify),
        "no enrolled resident among the 1 expected",
    )
    history = await service.stub.ListFaceConsents(pb.ListFaceConsentsRequest(parent=resident))
    assert [c.name for c in history.consents] == [granted.name]
    assert history.consents[0].withdrawn_by == f"communities/{C}/residents/operator"  # the caller
    assert "FaceConsentWithdrawn" in service.event_types()


async def test_the_database_holds_no_plaintext_template(
    service: Service, tom: Image.Image, engine: DlibFaceEngine
) -> None:
    resident = await register(service, "Tom", "13800000001")
    await consent(service, resident)
    photo = jpeg(tom)
    await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=resident, image=photo))
    template = engine.analyse(photo).template  # deterministic: the same vector was stored

    (row,) = service.rows("face_templates")
    stored = bytes(row.sealed)
    vector = template.vector.astype("<f4").tobytes()
    assert vector not in stored and vector[:16] not in stored
    assert template.to_bytes() not in stored and photo[:64] not in stored
    assert (row.engine, row.resident_id) == ("dlib", resident.rsplit("/", 1)[-1])
    # And yet it is the template: the community's key opens it.
    opened = service.cipher.decrypt(C, row.resident_id, EncryptedTemplate.from_bytes(stored))
    assert opened.similarity(template) == pytest.approx(1.0, abs=1e-6)
    assert "face" not in " ".join(c.lower() for c in service.rows("residents")[0]._fields)


async def test_a_second_replica_follows_enrolment_and_withdrawal(
    service: Service, tom: Image.Image, engine: DlibFaceEngine
) -> None:
    """Replica B learns of A's enrolment and withdrawal through identity.events."""
    settings_b = service.settings.model_copy(update={"replica_id": "b"})
    galleries_b = Galleries(engine.name, engine.model_version, engine.dimension)
    replica_b = await start(
        build_app(
            settings_b,
            engine=engine,
            galleries=galleries_b,
            verifier=service.credentials.verifier(),
        ),
        "127.0.0.1",
        0,
    )
    try:
        resident = await register(service, "Tom", "13800000001")
        resident_id = resident.rsplit("/", 1)[-1]
        await consent(service, resident)
        await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=resident, image=jpeg(tom)))
        await until(lambda: resident_id in galleries_b.for_community(C))

        await service.stub.WithdrawFaceConsent(pb.WithdrawFaceConsentRequest(parent=resident))
        await until(lambda: resident_id not in galleries_b.for_community(C))
    finally:
        await replica_b.stop(grace=0)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes that declares width x height grey pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


async def test_bad_input_gives_clear_errors_and_records_nothing(
    service: Service, tom: Image.Image, stranger: bytes
) -> None:
    resident = await register(service, "Tom", "13800000001")
    await consent(service, resident)
    enrol = service.stub.EnrolFace
    invalid = grpc.StatusCode.INVALID_ARGUMENT

    await expect(
        invalid,
        enrol(pb.EnrolFaceRequest(resident=resident, image=b"not a photo")),
        "could not be read",
    )
    await expect(
        invalid,
        enrol(pb.EnrolFaceRequest(resident=resident, image=jpeg(tom)[:400])),
        "could not be read",
    )
    await expect(
        invalid,
        enrol(pb.EnrolFaceRequest(resident=resident, image=png_header_only(8000, 8000))),
        "too large (8000x8000 pixels)",
    )
    small = tom.resize((64, 64), Image.Resampling.BICUBIC)
    await expect(
        invalid, enrol(pb.EnrolFaceRequest(resident=resident, image=jpeg(small))), "too small"
    )
    group = jpeg(_image("t1.jpg"))
    await expect(invalid, enrol(pb.EnrolFaceRequest(resident=resident, image=group)), "6 faces")
    # Over the 4 MiB image limit: refused at the edge by the field's declared limit.
    await expect(
        invalid,
        enrol(pb.EnrolFaceRequest(resident=resident, image=bytes(4 * 1024 * 1024 + 1))),
        "image is longer than 4194304 bytes",
    )
    # Over identity's message limit (4 MiB + 64 KiB): refused before the service sees it.
    await expect(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        enrol(pb.EnrolFaceRequest(resident=resident, image=bytes(5 * 1024 * 1024))),
        "larger than max",
    )
    wrong = resident.replace(f"communities/{C}/", "communities/c-west/")
    await expect(
        grpc.StatusCode.NOT_FOUND,
        enrol(pb.EnrolFaceRequest(resident=wrong, image=jpeg(tom))),
        "not found",  # another community's: whether it exists is not told
    )
    await expect(
        grpc.StatusCode.NOT_FOUND,
        service.kiosk.IdentifyFace(
            pb.IdentifyFaceRequest(
                parent="communities/c-west",
                frames=head_turn(tom),
                challenge=CHALLENGE_TURN,
                candidates=["communities/c-west/residents/r1"],
            )
        ),
        "c-west",
    )
    await expect(
        invalid,
        service.kiosk.IdentifyFace(
            pb.IdentifyFaceRequest(parent=f"communities/{C}", frames=head_turn(tom))
        ),
        "challenge",
    )
    await expect(
        invalid,
        service.kiosk.IdentifyFace(
            pb.IdentifyFaceRequest(
                parent=f"communities/{C}",
                frames=[b"junk"] * 3,
                challenge=CHALLENGE_TURN,
                candidates=[f"communities/{C}/residents/r1"],
            )
        ),
        "could not be read",
    )

    assert service.rows("face_templates") == []
    assert "FaceEnrolled" not in service.event_types()
    assert len(service.galleries.for_community(C)) == 0


async def test_key_rotation_moves_every_template_to_the_new_key(
    service: Service,
    tom: Image.Image,
    stranger: bytes,
    engine: DlibFaceEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Enrol under k1, make k2 current, rotate (CLI, then RPC), then drop k1 altogether."""
    k1, k2 = KEYS[C]["keys"]["k1"], base64.b64encode(os.urandom(32)).decode()
    tom_name = await register(service, "Tom", "13800000001")
    ann_name = await register(service, "Ann", "13800000002")
    for resident in (tom_name, ann_name):
        await consent(service, resident)
    await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=tom_name, image=jpeg(tom)))
    both = {C: {"current": "k2", "keys": {"k1": k1, "k2": k2}}}
    monkeypatch.setenv("LINLI_IDENTITY_DATABASE_URL", service.settings.database_url)
    monkeypatch.setenv("LINLI_IDENTITY_REDIS_URL", service.settings.redis_url)
    monkeypatch.setenv("LINLI_IDENTITY_TEMPLATE_KEYS", json.dumps(both))

    await asyncio.to_thread(main, ["rotate-keys", "--community", C])

    assert "1 face templates of c-east re-encrypted" in capsys.readouterr().out
    # Ann enrols through the replica still on k1; a replica on the new keyring rotates her.
    await service.stub.EnrolFace(pb.EnrolFaceRequest(resident=ann_name, image=stranger))
    assert sorted(key_ids(service)) == ["k1", "k2"]
    async with replica(service, engine, both, "rotator") as callers:
        rotate = pb.RotateTemplateKeysRequest(parent=f"communities/{C}")
        reply = await callers.stub.RotateTemplateKeys(rotate)
        assert (reply.re_encrypted, reply.current_key_id) == (1, "k2")
        assert (await callers.stub.RotateTemplateKeys(rotate)).re_encrypted == 0
    assert sorted(key_ids(service)) == ["k2", "k2"]

    # Without k1 a replica still loads (decrypts) every template and identifies Tom.
    async with replica(
        service, engine, {C: {"current": "k2", "keys": {"k2": k2}}}, "k2-only"
    ) as callers:
        found = await callers.kiosk.IdentifyFace(
            pb.IdentifyFaceRequest(
                parent=f"communities/{C}",
                frames=head_turn(tom),
                challenge=CHALLENGE_TURN,
                candidates=[tom_name, ann_name],
            )
        )
        assert found.resident == tom_name


def key_ids(service: Service) -> list[str]:
    return [
        EncryptedTemplate.from_bytes(bytes(r.sealed)).key_id for r in service.rows("face_templates")
    ]


@contextlib.asynccontextmanager
async def replica(
    service: Service, engine: DlibFaceEngine, keys: dict[str, object], replica_id: str
) -> AsyncIterator[Callers]:
    """Another replica of the service on the same database, with its own keyring."""
    settings = IdentitySettings(
        database_url=service.settings.database_url,
        redis_url=service.settings.redis_url,
        stream_prefix=service.settings.stream_prefix,
        template_keys=keys,
        replica_id=replica_id,
    )
    app = build_app(settings, engine=engine, verifier=service.credentials.verifier())
    async with serving(app, service.credentials) as callers:
        yield callers
