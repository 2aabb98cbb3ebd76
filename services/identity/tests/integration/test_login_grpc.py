"""Login, refresh families, lockout and key rotation over gRPC against real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import subprocess
import sys
from base64 import b64decode
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.json_format import MessageToDict
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters.face_dlib import DlibFaceEngine
from linli_identity.adapters.signing import SigningKeyring
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.cli import MIGRATIONS
from linli_kit import auth
from linli_kit.auth import TokenVerifier, Unauthenticated, with_metadata
from linli_kit.db import migrate
from linli_kit.grpc_server import start
from linli_kit.paseto import dev_seeds
from linli_kit.testing import Credentials

C = "communities/c-east"
PASSWORD = "correct horse battery"
KEYS = {
    "k1": base64.b64encode(bytes(range(32))).decode(),
    "k2": base64.b64encode(bytes(32)).decode(),
}
Serve = Callable[..., "AsyncIterator[pb_grpc.IdentityServiceStub]"]


@pytest.fixture
def database(make_database) -> str:
    """A migrated identity database."""
    url = make_database("identity")
    migrate(url, MIGRATIONS)
    return str(url)


def operator(credentials: Credentials, current: str) -> grpc.aio.ClientInterceptor:
    """Call as c-east's operator (an sre and social worker), with a token of the current key."""
    key = auth.SigningKey(current, Ed25519PrivateKey.from_private_bytes(b64decode(KEYS[current])))
    signed = Credentials(key, credentials.ca)
    return with_metadata(signed.person("c-east", "operator", "sre", "social_worker"))


@pytest.fixture
def serve(database, servers, stream_prefix, credentials) -> Serve:
    """Serve identity on one database, with the signing keyring given, as often as asked.

    It verifies tokens with its own keyring; the stub calls as the operator.
    """
    url = database
    engine = DlibFaceEngine()

    @asynccontextmanager
    async def running(current: str, *keys: str) -> AsyncIterator[pb_grpc.IdentityServiceStub]:
        settings = IdentitySettings(
            database_url=url,
            redis_url=servers.redis,
            stream_prefix=stream_prefix,
            replica_id="login",
            signing_keys={"current": current, "keys": {k: KEYS[k] for k in keys}},
        )
        app = await start(build_app(settings, engine=engine), "127.0.0.1", 0)
        try:
            address, caller = f"127.0.0.1:{app.port}", operator(credentials, current)
            async with grpc.aio.insecure_channel(address, interceptors=[caller]) as channel:
                yield pb_grpc.IdentityServiceStub(channel)
        finally:
            await app.stop(grace=0)

    return running


async def setup(stub) -> dict[str, str]:
    """c-east with Ann (a resident) and Wang (an sre with a password)."""
    await stub.CreateCommunity(pb.CreateCommunityRequest(community_id="c-east", display_name="E"))
    people = {}
    for person, phone in (("ann", "13800000001"), ("wang", "13800000002")):
        reply = await stub.RegisterResident(
            pb.RegisterResidentRequest(parent=C, display_name=person, phone=phone)
        )
        people[person] = reply.resident.name
    await stub.GrantRole(pb.GrantRoleRequest(resident=people["wang"], role="sre"))
    await stub.SetPassword(pb.SetPasswordRequest(resident=people["wang"], password=PASSWORD))
    return people


def logged_code(caplog, phone: str) -> str:
    """The code the development SMS sender wrote to the log for a phone."""
    found = re.findall(rf"SMS to {phone} .*login code is (\d{{6}})", caplog.text)
    assert found, "the development sender logged no code"
    return str(found[-1])


async def code_login(stub, caplog, phone: str) -> pb.TokenPair:
    await stub.RequestLoginCode(pb.RequestLoginCodeRequest(parent=C, phone=phone))
    code = logged_code(caplog, phone)
    reply = await stub.LoginWithCode(pb.LoginWithCodeRequest(parent=C, phone=phone, code=code))
    return reply.tokens


async def verifier(stub) -> TokenVerifier:
    jwks = await stub.GetJwks(pb.GetJwksRequest())
    return TokenVerifier.from_jwks(MessageToDict(jwks, preserving_proto_field_name=True))


async def status_of(call, request) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(request)
    return error.value.code()


async def test_code_login_lockout_refresh_families_and_role_change(serve, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="linli_identity.adapters.login_adapters")
    async with serve("k1", "k1") as stub:
        people = await setup(stub)

        # Login by code; the code works once.
        tokens = await code_login(stub, caplog, "13800000001")
        principal = (await verifier(stub)).principal(tokens.access_token)
        assert (principal.subject, principal.community) == (people["ann"], "c-east")
        used = pb.LoginWithCodeRequest(
            parent=C, phone="13800000001", code=logged_code(caplog, "13800000001")
        )
        assert await status_of(stub.LoginWithCode, used) == grpc.StatusCode.UNAUTHENTICATED

        # Refresh rotates; presenting the used token again ends the whole family.
        second = (
            await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=tokens.refresh_token))
        ).tokens
        reuse = pb.RefreshTokenRequest(refresh_token=tokens.refresh_token)
        assert await status_of(stub.RefreshToken, reuse) == grpc.StatusCode.UNAUTHENTICATED
        after = pb.RefreshTokenRequest(refresh_token=second.refresh_token)
        assert await status_of(stub.RefreshToken, after) == grpc.StatusCode.UNAUTHENTICATED

        # A role change ends the staff member's sessions at the next refresh.
        staff = await stub.LoginWithPassword(
            pb.LoginWithPasswordRequest(parent=C, phone="13800000002", password=PASSWORD)
        )
        assert set(staff.tokens.roles) == {"resident", "sre"}
        await stub.RevokeRole(pb.RevokeRoleRequest(resident=people["wang"], role="sre"))
        stale = pb.RefreshTokenRequest(refresh_token=staff.tokens.refresh_token)
        assert await status_of(stub.RefreshToken, stale) == grpc.StatusCode.UNAUTHENTICATED

        # Five failures (the used code, then four wrong ones) lock the phone out.
        await stub.RequestLoginCode(pb.RequestLoginCodeRequest(parent=C, phone="13800000001"))
        right = logged_code(caplog, "13800000001")
        wrong = f"{(int(right) + 1) % 10**6:06d}"
        for _ in range(4):
            attempt = pb.LoginWithCodeRequest(parent=C, phone="13800000001", code=wrong)
            assert await status_of(stub.LoginWithCode, attempt) == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as locked:
            await stub.LoginWithCode(
                pb.LoginWithCodeRequest(parent=C, phone="13800000001", code=right)
            )
        assert locked.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "retry after" in (locked.value.details() or "")

        audit = await stub.ListAuthEvents(pb.ListAuthEventsRequest(parent=C, page_size=500))
        kinds = [event.kind for event in audit.events]
        assert kinds.count("login_failed") == 5
        for kind in ("login_succeeded", "refresh_reused", "tokens_revoked", "login_locked_out"):
            assert kind in kinds
        assert all("13800000001" not in event.phone for event in audit.events)


async def test_a_rotated_key_keeps_old_tokens_valid_until_it_leaves_the_ring(serve, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="linli_identity.adapters.login_adapters")
    async with serve("k1", "k1") as stub:
        await setup(stub)
        old = await code_login(stub, caplog, "13800000001")

    async with serve("k2", "k1", "k2") as stub:
        rotated = await verifier(stub)
        new = (
            await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=old.refresh_token))
        ).tokens
        assert (
            rotated.principal(old.access_token).subject
            == rotated.principal(new.access_token).subject
        )
        assert [key.kid for key in (await stub.GetJwks(pb.GetJwksRequest())).keys] == ["k2", "k1"]

    async with serve("k2", "k2") as stub:
        only_new = await verifier(stub)
        assert only_new.principal(new.access_token).community == "c-east"
        with pytest.raises(Unauthenticated):
            only_new.principal(old.access_token)
        # The refresh token issued under k2 still works; one issued under k1 would not.
        newest = await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=new.refresh_token))
        assert newest.tokens.resident == new.resident


async def test_the_cli_prints_a_token_for_a_demo_user(serve, database) -> None:
    async with serve("k1", "k1") as stub:
        people = await setup(stub)
    env = {
        **os.environ,
        "LINLI_IDENTITY_DATABASE_URL": database,
        "LINLI_IDENTITY_REDIS_URL": "redis://127.0.0.1:1/0",
        "LINLI_IDENTITY_DEV_SIGNING_KEYS": "1",
    }
    command = [sys.executable, "-m", "linli_identity", "token", "--community", "c-east"]

    printed = subprocess.run(
        [*command, "--phone", "13800000002"], env=env, capture_output=True, text=True, check=True
    )

    dev = TokenVerifier.from_jwks({"keys": SigningKeyring(dev_seeds("signing"), "dev").jwks()})
    principal = dev.principal(printed.stdout.strip())
    assert (principal.subject, principal.roles) == (people["wang"], frozenset({"resident", "sre"}))


async def test_bootstrap_community_runs_twice_alike_and_its_staff_logs_in(
    serve, database, tmp_path
) -> None:
    """The operator's first staff member, made on the database; the token CLI then serves them."""
    password = tmp_path / "password"
    password.write_text(PASSWORD + "\n")
    env = {
        **os.environ,
        "LINLI_IDENTITY_DATABASE_URL": database,
        "LINLI_IDENTITY_REDIS_URL": "redis://127.0.0.1:1/0",
        "LINLI_IDENTITY_DEV_SIGNING_KEYS": "1",
    }
    command = [sys.executable, "-m", "linli_identity", "bootstrap-community", "--community"]
    command += ["c-north", "--display-name", "North", "--phone", "13900000001", "--name", "王社工"]
    command += ["--org-unit", "community-hq", "--role", "social_worker", "--role", "sre"]
    command += ["--password-file", str(password)]

    def run(*argv: str) -> str:
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout

    first, again = run(*command), run(*command)

    assert first == again and first.startswith("communities/c-north/residents/r")
    name = first.strip()
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM residents")).scalar_one()
        audit = connection.execute(sa.text("SELECT kind FROM auth_events")).scalars().all()
    engine.dispose()
    # One resident; each role granted once (ending sessions), the password set once.
    assert (count, sorted(audit)) == (1, ["password_set", "tokens_revoked", "tokens_revoked"])
    dev = TokenVerifier.from_jwks({"keys": SigningKeyring(dev_seeds("signing"), "dev").jwks()})
    token = run(
        sys.executable, "-m", "linli_identity", "token", "--community", "c-north",
        "--phone", "13900000001",
    ).strip()  # fmt: skip
    principal = dev.principal(token)
    assert (principal.subject, principal.roles) == (name, {"resident", "social_worker", "sre"})
    async with serve("k1", "k1") as stub:
        login = pb.LoginWithPasswordRequest(
            parent="communities/c-north", phone="13900000001", password=PASSWORD
        )
        tokens = (await stub.LoginWithPassword(login)).tokens
    assert tokens.resident == name and set(tokens.roles) == {"resident", "social_worker", "sre"}


async def test_two_refreshes_of_one_token_at_once_count_as_a_reuse(serve, caplog) -> None:
    """The token row is locked: one refresh wins, the other finds it used and ends the family."""
    caplog.set_level(logging.WARNING, logger="linli_identity.adapters.login_adapters")
    async with serve("k1", "k1") as stub:
        await setup(stub)
        tokens = await code_login(stub, caplog, "13800000001")
        request = pb.RefreshTokenRequest(refresh_token=tokens.refresh_token)

        answers = await asyncio.gather(
            stub.RefreshToken(request), stub.RefreshToken(request), return_exceptions=True
        )

        won = [a for a in answers if isinstance(a, pb.RefreshTokenResponse)]
        lost = [a.code() for a in answers if isinstance(a, grpc.aio.AioRpcError)]
        assert (len(won), lost) == (1, [grpc.StatusCode.UNAUTHENTICATED])
        after = pb.RefreshTokenRequest(refresh_token=won[0].tokens.refresh_token)
        assert await status_of(stub.RefreshToken, after) == grpc.StatusCode.UNAUTHENTICATED
