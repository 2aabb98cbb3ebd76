"""Who may call what (issue #10): each attack found against identity, refused, through the app.

The whole app runs on fakes; callers present access tokens signed with the login key (k1), or
a service's certificate over mutual TLS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import AsyncIterator

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity import service_layer
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.domain.residents import RoleGranted, RoleRevoked
from linli_identity.service_layer import commands
from linli_kit import auth
from linli_kit.grpc_server import Transport, start

from .conftest import fakes

C, W = "communities/c-east", "communities/c-west"
TURN = (b"face:ann:left", b"face:ann:front", b"face:ann:right")
DENIED, UNKNOWN = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND


async def refusal(call, request) -> grpc.StatusCode:
    """The status a refused call ends with (fails if the call succeeds)."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(request)
    return error.value.code()


def rid(name: str) -> str:
    """A resident's id from their resource name."""
    return name.rpartition("/")[2]


async def people(identity) -> dict[str, str]:
    """c-east with Ann and Bo (residents) and Li (social worker); c-west with Wu (its staff)."""
    stub = identity.stub
    await stub.CreateCommunity(pb.CreateCommunityRequest(community_id="c-east", display_name="E"))
    await stub.CreateCommunity(pb.CreateCommunityRequest(community_id="c-west", display_name="W"))
    west = identity.as_person("c-west", "operator", "social_worker")
    found = {}
    for person, parent, phone in (
        ("ann", C, "13800000001"),
        ("bo", C, "13800000002"),
        ("li", C, "13800000003"),
        ("wu", W, "13800000004"),
    ):
        reply = await (west if parent == W else stub).RegisterResident(
            pb.RegisterResidentRequest(
                parent=parent, display_name=person, phone=phone, birth_date="1950-01-02"
            )
        )
        found[person] = reply.resident.name
    await stub.GrantRole(pb.GrantRoleRequest(resident=found["li"], role="social_worker"))
    return found


def as_(identity, name: str, *roles: str) -> pb_grpc.IdentityServiceStub:
    """A stub calling as the resident named, holding the roles (and resident)."""
    community = name.split("/")[1]
    return identity.as_person(community, rid(name), "resident", *roles)


async def test_anonymous_callers_get_nothing_but_login_and_the_keys(identity) -> None:
    who = await people(identity)
    nobody = identity.as_anonymous()

    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    assert await refusal(nobody.ListResidents, pb.ListResidentsRequest(parent=C)) == unauthenticated
    assert await refusal(nobody.GetResident, pb.GetResidentRequest(name=who["ann"])) == (
        unauthenticated
    )
    assert await refusal(
        nobody.GrantRole, pb.GrantRoleRequest(resident=who["ann"], role="sre")
    ) == (unauthenticated)
    assert await refusal(nobody.RotateTemplateKeys, pb.RotateTemplateKeysRequest(parent=C)) == (
        unauthenticated
    )
    assert (await nobody.GetJwks(pb.GetJwksRequest())).keys


async def test_a_forged_or_expired_token_is_unauthenticated(identity, credentials) -> None:
    who = await people(identity)
    forged = credentials.token("c-east", rid(who["li"]), "social_worker")  # not identity's key
    expired = identity.tokens.token("c-east", rid(who["li"]), "social_worker", now=1_000_000)

    for token in (forged, expired, "not-a-jwt"):
        stub = identity.with_token(token)
        assert await refusal(stub.ListResidents, pb.ListResidentsRequest(parent=C)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )


async def test_another_communitys_staff_find_nothing_of_this_one(identity) -> None:
    who = await people(identity)
    stranger = as_(identity, who["wu"], "social_worker", "sre")

    for call, request in (
        (stranger.ListResidents, pb.ListResidentsRequest(parent=C)),
        (stranger.ExportResidents, pb.ExportResidentsRequest(parent=C)),
        (stranger.GetResident, pb.GetResidentRequest(name=who["ann"])),
        (stranger.GetCommunity, pb.GetCommunityRequest(name=C)),
        (stranger.ListAuthEvents, pb.ListAuthEventsRequest(parent=C)),
        (stranger.GrantRole, pb.GrantRoleRequest(resident=who["wu"].replace(W, C), role="sre")),
        (stranger.RevokeRole, pb.RevokeRoleRequest(resident=who["li"], role="social_worker")),
        (stranger.RotateTemplateKeys, pb.RotateTemplateKeysRequest(parent=C)),
        (stranger.ListFaceConsents, pb.ListFaceConsentsRequest(parent=who["ann"])),
        (stranger.ListOrgUnits, pb.ListOrgUnitsRequest(parent=C)),
    ):
        assert await refusal(call, request) == UNKNOWN, call


async def test_a_resident_cannot_list_or_export_the_residents(identity) -> None:
    who = await people(identity)
    ann = as_(identity, who["ann"])

    assert await refusal(ann.ListResidents, pb.ListResidentsRequest(parent=C)) == DENIED
    assert await refusal(ann.ExportResidents, pb.ExportResidentsRequest(parent=C)) == DENIED
    csv = b"phone,display_name\n13800000009,Eve\n"
    assert await refusal(ann.ImportResidents, pb.ImportResidentsRequest(parent=C, csv=csv)) == (
        DENIED
    )


async def test_a_resident_cannot_read_another_residents_record(identity) -> None:
    who = await people(identity)
    ann = as_(identity, who["ann"])

    assert await refusal(ann.GetResident, pb.GetResidentRequest(name=who["bo"])) == DENIED
    own = (await ann.GetResident(pb.GetResidentRequest(name=who["ann"]))).resident
    assert (own.phone, own.birth_date) == ("13800000001", "1950-01-02")
    staff = as_(identity, who["li"], "social_worker")
    seen = (await staff.GetResident(pb.GetResidentRequest(name=who["bo"]))).resident
    assert seen.phone == "13800000002"


async def test_a_resident_cannot_grant_themselves_sre_or_social_worker(identity) -> None:
    who = await people(identity)
    ann = as_(identity, who["ann"])

    for role in ("sre", "social_worker", "committee_member"):
        grant = pb.GrantRoleRequest(resident=who["ann"], role=role)
        assert await refusal(ann.GrantRole, grant) == DENIED
    revoke = pb.RevokeRoleRequest(resident=who["li"], role="social_worker")
    assert await refusal(ann.RevokeRole, revoke) == DENIED
    assert identity.uow.residents.rows[("c-east", rid(who["li"]))].roles >= {"social_worker"}


async def test_nobody_changes_their_own_roles(identity) -> None:
    who = await people(identity)
    li = as_(identity, who["li"], "social_worker")

    grant = pb.GrantRoleRequest(resident=who["li"], role="committee_member")
    assert await refusal(li.GrantRole, grant) == DENIED
    revoke = pb.RevokeRoleRequest(resident=who["li"], role="resident")
    assert await refusal(li.RevokeRole, revoke) == DENIED


async def test_only_an_sre_grants_sre_and_only_a_social_worker_the_staff_roles(identity) -> None:
    who = await people(identity)
    li = as_(identity, who["li"], "social_worker")
    sre = as_(identity, who["bo"], "sre")

    assert await refusal(li.GrantRole, pb.GrantRoleRequest(resident=who["ann"], role="sre")) == (
        DENIED
    )
    to_staff = pb.GrantRoleRequest(resident=who["ann"], role="social_worker")
    assert await refusal(sre.GrantRole, to_staff) == DENIED
    await li.GrantRole(pb.GrantRoleRequest(resident=who["ann"], role="committee_member"))
    await sre.GrantRole(pb.GrantRoleRequest(resident=who["ann"], role="sre"))


async def test_role_changes_are_published_with_who_made_them(identity) -> None:
    who = await people(identity)
    li = as_(identity, who["li"], "social_worker")

    await li.GrantRole(pb.GrantRoleRequest(resident=who["ann"], role="committee_member"))
    await li.RevokeRole(pb.RevokeRoleRequest(resident=who["ann"], role="committee_member"))

    changes = [e for e in identity.uow.published if isinstance(e, RoleGranted | RoleRevoked)]
    granted, revoked = changes[-2:]
    assert isinstance(granted, RoleGranted) and isinstance(revoked, RoleRevoked)
    assert (granted.resident_id, granted.role, granted.granted_by) == (
        rid(who["ann"]),
        "committee_member",
        who["li"],
    )
    assert revoked.revoked_by == who["li"]


async def test_rotating_template_keys_needs_an_sre(identity) -> None:
    who = await people(identity)
    rotate = pb.RotateTemplateKeysRequest(parent=C)

    for stub in (as_(identity, who["ann"]), as_(identity, who["li"], "social_worker")):
        assert await refusal(stub.RotateTemplateKeys, rotate) == DENIED


async def test_a_resident_cannot_grant_or_withdraw_consent_for_someone_else(identity) -> None:
    who = await people(identity)
    ann, bo = as_(identity, who["ann"]), as_(identity, who["bo"])
    consent = pb.GrantFaceConsentRequest(
        parent=who["bo"], policy_version="2026-01", retention_days=30, recorded_by="bo herself"
    )

    assert await refusal(ann.GrantFaceConsent, consent) == DENIED
    granted = (await bo.GrantFaceConsent(consent)).consent
    withdraw = pb.WithdrawFaceConsentRequest(parent=who["bo"])
    assert await refusal(ann.WithdrawFaceConsent, withdraw) == DENIED
    assert await refusal(ann.ListFaceConsents, pb.ListFaceConsentsRequest(parent=who["bo"])) == (
        DENIED
    )
    # The recorder is the caller, whatever the request says.
    stored = identity.uow.consents.rows[("c-east", granted.name.rpartition("/")[2])]
    assert stored.granted_by == who["bo"]


async def test_a_resident_cannot_enrol_their_photo_as_someone_elses_face(identity) -> None:
    who = await people(identity)
    ann = as_(identity, who["ann"])
    consent = pb.GrantFaceConsentRequest(
        parent=who["bo"], policy_version="2026-01", retention_days=30
    )
    await as_(identity, who["bo"]).GrantFaceConsent(consent)

    enrol = pb.EnrolFaceRequest(resident=who["bo"], image=b"face:ann:front")
    assert await refusal(ann.EnrolFace, enrol) == DENIED
    # Staff enrol only a resident who consented.
    staff = as_(identity, who["li"], "social_worker")
    await staff.EnrolFace(enrol)
    no_consent = pb.EnrolFaceRequest(resident=who["ann"], image=b"face:ann:front")
    assert await refusal(staff.EnrolFace, no_consent) == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_person_cannot_turn_a_photo_into_a_name(identity) -> None:
    who = await people(identity)
    identify = pb.IdentifyFaceRequest(
        parent=C, frames=TURN, challenge=pb.LIVENESS_CHALLENGE_HEAD_TURN
    )
    verify_bo = pb.VerifyFaceRequest(
        resident=who["bo"], frames=TURN, challenge=pb.LIVENESS_CHALLENGE_HEAD_TURN
    )

    for stub in (as_(identity, who["ann"]), as_(identity, who["li"], "social_worker", "sre")):
        assert await refusal(stub.IdentifyFace, identify) == DENIED
    assert await refusal(as_(identity, who["ann"]).VerifyFace, verify_bo) == DENIED


async def test_a_grid_head_acts_only_within_their_grid(identity) -> None:
    who = await people(identity)
    stub = identity.stub
    hq = (
        await stub.CreateOrgUnit(
            pb.CreateOrgUnitRequest(parent=C, level=pb.ORG_LEVEL_COMMUNITY_HQ, display_name="HQ")
        )
    ).org_unit.name
    grids = []
    for name in ("Grid 1", "Grid 2"):
        reply = await stub.CreateOrgUnit(
            pb.CreateOrgUnitRequest(
                parent=C, level=pb.ORG_LEVEL_GRID_STATION, display_name=name, parent_unit=hq
            )
        )
        grids.append(reply.org_unit.name)
    head = await stub.RegisterResident(
        pb.RegisterResidentRequest(
            parent=C, display_name="Head", phone="13800000011", home_unit=grids[0]
        )
    )
    await stub.GrantRole(pb.GrantRoleRequest(resident=head.resident.name, role="grid_head"))
    grid_head = as_(identity, head.resident.name, "grid_head")

    mine = await grid_head.RegisterResident(
        pb.RegisterResidentRequest(
            parent=C, display_name="Mine", phone="13800000012", home_unit=grids[0]
        )
    )
    assert (await grid_head.GetResident(pb.GetResidentRequest(name=mine.resident.name))).resident
    elsewhere = pb.RegisterResidentRequest(
        parent=C, display_name="Other", phone="13800000013", home_unit=grids[1]
    )
    assert await refusal(grid_head.RegisterResident, elsewhere) == DENIED
    assert await refusal(grid_head.GetResident, pb.GetResidentRequest(name=who["ann"])) == DENIED
    grant = pb.GrantRoleRequest(resident=mine.resident.name, role="volunteer")
    assert await refusal(grid_head.GrantRole, grant) == DENIED


@pytest.mark.parametrize(
    "method, request_for",
    [
        (
            "RequestLoginCode",
            lambda i: pb.RequestLoginCodeRequest(parent=C, phone=f"1390000{i:04d}"),
        ),
        (
            "LoginWithPassword",
            lambda i: pb.LoginWithPasswordRequest(parent=C, phone="1", password="x"),
        ),
        ("RefreshToken", lambda i: pb.RefreshTokenRequest(refresh_token="lr1.c-east.x.y")),
    ],
)
async def test_login_calls_are_limited_per_caller(identity, method, request_for) -> None:
    await people(identity)
    nobody = identity.as_anonymous()
    for i in range(10):  # the per-phone lockout and code quota are not reached
        with contextlib.suppress(grpc.aio.AioRpcError):
            await getattr(nobody, method)(request_for(i))

    with pytest.raises(grpc.aio.AioRpcError) as eleventh:
        await getattr(nobody, method)(request_for(10))
    assert eleventh.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many calls" in (eleventh.value.details() or "")


# ---- services over mutual TLS ---------------------------------------------------------


@pytest.fixture
async def over_tls(uow, clock, app_parts, login, credentials) -> AsyncIterator[str]:
    """The app on fakes served with mutual TLS (certificates from the test CA); its address."""
    engine, galleries, streams = app_parts
    settings = IdentitySettings(
        database_url="postgresql://nowhere/none",
        redis_url="redis://nowhere",
        face_thresholds=fakes.FAKE_THRESHOLDS,
    )
    app = build_app(
        settings,
        uow_factory=lambda: uow,
        clock=clock,
        engine=engine,
        galleries=galleries,
        streams=streams,
        login=login,
    )
    running = await start(app, "127.0.0.1", 0, Transport(tls=credentials.tls("c-east", "identity")))
    yield f"localhost:{running.port}"
    await running.stop(grace=0)


def service_stub(address: str, tls: auth.TlsFiles, *metadata) -> pb_grpc.IdentityServiceStub:
    """A stub over mutual TLS with the party's certificate (and any call metadata)."""
    interceptors = [auth.with_metadata(tuple(metadata))] if metadata else []
    channel = grpc.aio.secure_channel(address, tls.channel_credentials(), interceptors=interceptors)
    return pb_grpc.IdentityServiceStub(channel)


async def test_attendance_identifies_faces_and_reads_residents_without_contact_details(
    over_tls, identity, credentials, uow
) -> None:
    who = await people(identity)
    bo = as_(identity, who["bo"])
    await bo.GrantFaceConsent(
        pb.GrantFaceConsentRequest(parent=who["bo"], policy_version="2026-01", retention_days=30)
    )
    await bo.EnrolFace(pb.EnrolFaceRequest(resident=who["bo"], image=b"face:bo:front"))
    attendance = service_stub(over_tls, credentials.tls("c-east", "attendance"))
    frames = (b"face:bo:left", b"face:bo:front", b"face:bo:right")

    found = await attendance.IdentifyFace(
        pb.IdentifyFaceRequest(
            parent=C,
            frames=frames,
            challenge=pb.LIVENESS_CHALLENGE_HEAD_TURN,
            candidates=[who["bo"]],
        )
    )
    record = (await attendance.GetResident(pb.GetResidentRequest(name=found.resident))).resident

    assert found.resident == who["bo"] and record.display_name == "bo"
    assert (record.phone, record.birth_date, record.household) == ("", "", "")
    points = service_stub(over_tls, credentials.tls("c-east", "points"))
    identify = pb.IdentifyFaceRequest(parent=C, frames=frames, challenge=2, candidates=[who["bo"]])
    assert await refusal(points.IdentifyFace, identify) == DENIED
    west = service_stub(over_tls, credentials.tls("c-west", "attendance"))
    assert await refusal(west.IdentifyFace, identify) == UNKNOWN


async def test_a_certificate_from_another_ca_is_refused(over_tls) -> None:
    from linli_kit.pki import DevelopmentCA

    rogue = DevelopmentCA.create().tls_files("spiffe://linli/c-east/attendance")
    stub = service_stub(over_tls, rogue)

    assert await refusal(stub.GetJwks, pb.GetJwksRequest()) == grpc.StatusCode.UNAVAILABLE


def test_the_default_verifier_trusts_the_login_keyring(login) -> None:
    key = auth.SigningKey("k1", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    assert login.signer.jwks()[0]["x"] == key.public_jwk["x"]


def test_every_use_case_needs_its_actor_named() -> None:
    """Deny by default inside: no command or query falls back to a trusted caller."""
    for _, cls in inspect.getmembers(commands, dataclasses.is_dataclass):
        for f in dataclasses.fields(cls):
            if f.name == "actor":
                assert f.default is dataclasses.MISSING, cls.__name__
    checked = 0
    for module in pkgutil.iter_modules(service_layer.__path__):
        use_cases = importlib.import_module(f"{service_layer.__name__}.{module.name}")
        for name, fn in inspect.getmembers(use_cases, inspect.isfunction):
            actor = inspect.signature(fn).parameters.get("actor")
            if actor is not None:
                checked += 1
                assert actor.default is inspect.Parameter.empty, f"{module.name}.{name}"
    assert checked >= 10
