"""Login rules (codes, passwords, lockout, refresh families, keys) on fakes, over gRPC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from linli.identity.v1 import identity_service_pb2 as pb
from linli.identity.v1 import identity_service_pb2_grpc as pb_grpc

from linli_identity.adapters.login_adapters import Argon2PasswordHasher
from linli_identity.adapters.signing import SigningKeyring
from linli_identity.bootstrap import build_app
from linli_identity.config import IdentitySettings
from linli_identity.domain.login import (
    LoginCode,
    LoginRefused,
    TooManyAttempts,
    check_code_quota,
    wait_after,
)
from linli_identity.domain.org import Role
from linli_identity.domain.residents import Community, Resident
from linli_identity.domain.tokens import PresentedRefreshToken, RefreshReused, RefreshToken
from linli_identity.service_layer import login as login_use_cases
from linli_identity.service_layer import sessions
from linli_identity.service_layer.commands import RequestLoginCode
from linli_identity.service_layer.login_port import LoginPorts, NoSigningKeys, Secret
from linli_kit.auth import (
    Kind,
    TokenVerifier,
    Unauthenticated,
    client_address_metadata,
    with_metadata,
)
from linli_kit.errors import InvalidArgument, NotFound, Unavailable
from linli_kit.grpc_server import Transport, start

from .conftest import OPERATOR, SEEDS, fakes

C = "communities/c-east"
T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


# ---- the rules ------------------------------------------------------------------------


def test_five_failures_are_free_then_each_doubles_the_wait() -> None:
    failures = [T + timedelta(seconds=i) for i in range(5)]
    last = failures[-1]

    assert wait_after(failures[:4], 5, last) == timedelta(0)
    assert wait_after(failures, 5, last) == timedelta(seconds=30)
    assert wait_after([*failures, last], 5, last) == timedelta(seconds=60)
    assert wait_after(failures, 5, last + timedelta(seconds=31)) == timedelta(0)
    assert wait_after(failures * 10, 5, last) == timedelta(minutes=15)
    assert wait_after(failures, 5, last + timedelta(minutes=16)) == timedelta(0)


def test_a_sixth_code_within_the_hour_is_refused_with_a_retry_after() -> None:
    sent = [T + timedelta(minutes=i) for i in range(5)]

    check_code_quota(sent[:4], T + timedelta(minutes=5))
    with pytest.raises(TooManyAttempts, match="retry after 3300 s"):
        check_code_quota(sent, T + timedelta(minutes=5))
    check_code_quota(sent, T + timedelta(minutes=61))


def test_a_code_works_once_before_it_expires_and_is_stored_hashed() -> None:
    code = LoginCode.issue("c-east", "13800000001", "r1", "123456", T)

    assert "123456" not in code.code_hash
    with pytest.raises(LoginRefused):
        code.redeem("654321", T)
    with pytest.raises(LoginRefused):
        LoginCode.issue("c-east", "13800000001", "r1", "123456", T).redeem(
            "123456", T + timedelta(minutes=5)
        )
    assert code.redeem("123456", T) == "r1"
    with pytest.raises(LoginRefused):
        code.redeem("123456", T)


def test_a_code_for_a_phone_nobody_has_never_logs_in() -> None:
    code = LoginCode.issue("c-east", "13800000001", "", "123456", T)

    with pytest.raises(LoginRefused):
        code.redeem("123456", T)


def test_a_code_login_leaves_staff_roles_out_and_a_password_login_keeps_them() -> None:
    roles = {Role.RESIDENT, Role.SRE}

    by_code = RefreshToken.start_family("c-east", "r1", roles, False, "k1", T)
    by_password = RefreshToken.start_family("c-east", "r1", roles, True, "k1", T)

    assert by_code.roles == ("resident",)
    assert by_password.roles == ("resident", "sre")
    assert by_code.rotate(roles, "k1", T).roles == ("resident",)


def test_a_refresh_token_rotates_once_and_a_reuse_is_told_apart() -> None:
    first = RefreshToken.start_family("c-east", "r1", {Role.RESIDENT}, False, "k1", T)

    second = first.rotate({Role.RESIDENT}, "k1", T)

    assert (second.family_id, second.id != first.id) == (first.family_id, True)
    with pytest.raises(RefreshReused):
        first.rotate({Role.RESIDENT}, "k1", T)
    second.revoked_at = T
    with pytest.raises(LoginRefused) as revoked:
        second.rotate({Role.RESIDENT}, "k1", T)
    assert not isinstance(revoked.value, RefreshReused)
    late = RefreshToken.start_family("c-east", "r1", {Role.RESIDENT}, False, "k1", T)
    with pytest.raises(LoginRefused, match="expired"):
        late.rotate({Role.RESIDENT}, "k1", T + timedelta(days=15))


@pytest.mark.parametrize("text", ["", "lr1.c-east.t1.x", "Bearer abc", "lr1.C.t" + "0" * 32 + ".s"])
def test_a_refresh_token_we_did_not_issue_is_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument):
        PresentedRefreshToken.parse(text)


def test_a_secret_never_shows_and_its_digest_is_salted() -> None:
    secret = Secret(PASSWORD, "r1:13800000001")

    assert PASSWORD not in repr(secret) and PASSWORD not in str(secret)
    assert str(secret) == str(Secret(PASSWORD, "r1:13800000001"))
    assert str(secret) != str(Secret(PASSWORD, "r2:13800000001"))


# ---- keys -----------------------------------------------------------------------------


def _token(key_id: str = "k1") -> RefreshToken:
    now = datetime.now(UTC).replace(microsecond=0)
    return RefreshToken.start_family("c-east", "r1", {Role.RESIDENT, Role.SRE}, True, key_id, now)


def test_a_signed_again_access_token_is_the_one_the_kit_issued() -> None:
    ring, token = SigningKeyring(SEEDS, "k1"), _token()

    issued, token.access_jti = ring.access_token(token)

    assert ring.reissue(token) == issued


def test_tokens_carry_what_the_interceptor_reads() -> None:
    ring, token = SigningKeyring(SEEDS, "k1"), _token()
    issued, token.access_jti = ring.access_token(token)

    principal = TokenVerifier.from_jwks({"keys": ring.jwks()}).principal(issued)

    assert principal.kind is Kind.PERSON
    assert principal.subject == "communities/c-east/residents/r1"
    assert (principal.community, principal.roles) == ("c-east", frozenset({"resident", "sre"}))


def test_a_rotated_ring_verifies_old_tokens_until_the_old_key_leaves() -> None:
    old_ring, token = SigningKeyring(SEEDS, "k1"), _token("k1")
    old_token, token.access_jti = old_ring.access_token(token)
    rotated = SigningKeyring(SEEDS, "k2")
    new_token, _ = rotated.access_token(_token("k2"))

    both = TokenVerifier.from_jwks({"keys": rotated.jwks()})
    assert [key["kid"] for key in rotated.jwks()] == ["k2", "k1"]
    assert both.principal(old_token).subject == both.principal(new_token).subject
    only_new = TokenVerifier.from_jwks({"keys": SigningKeyring({"k2": SEEDS["k2"]}, "k2").jwks()})
    assert only_new.principal(new_token).kind is Kind.PERSON
    with pytest.raises(Unauthenticated):
        only_new.principal(old_token)


def test_refresh_secrets_differ_by_token_and_by_key() -> None:
    ring, token = SigningKeyring(SEEDS, "k1"), _token()
    other = _token()

    assert ring.refresh_secret(token) != ring.refresh_secret(other)
    assert ring.refresh_secret(token) != SigningKeyring({"k1": SEEDS["k2"]}, "k1").refresh_secret(
        token
    )


# ---- over gRPC, on fakes --------------------------------------------------------------


async def community(stub, *staff: str) -> dict[str, str]:
    """c-east with Ann (a resident) and staff members holding the given roles."""
    await stub.CreateCommunity(pb.CreateCommunityRequest(community_id="c-east", display_name="E"))
    people = {}
    for number, person in enumerate(["ann", *staff]):
        phone = f"1390000{number:04d}"
        reply = await stub.RegisterResident(
            pb.RegisterResidentRequest(parent=C, display_name=person, phone=phone)
        )
        people[person], people[f"{person}:phone"] = reply.resident.name, phone
        if person != "ann":
            await stub.GrantRole(pb.GrantRoleRequest(resident=reply.resident.name, role=person))
            await stub.SetPassword(
                pb.SetPasswordRequest(resident=reply.resident.name, password=PASSWORD)
            )
    return people


async def code_login(identity, phone: str) -> pb.TokenPair:
    await identity.stub.RequestLoginCode(pb.RequestLoginCodeRequest(parent=C, phone=phone))
    code = identity.login.sms.last_code(phone)
    identity.login.clock.advance(seconds=1)
    reply = await identity.stub.LoginWithCode(
        pb.LoginWithCodeRequest(parent=C, phone=phone, code=code)
    )
    return reply.tokens


async def refused(call, request) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(request)
    return error.value


async def verifier(stub) -> TokenVerifier:
    jwks = MessageToDict(await stub.GetJwks(pb.GetJwksRequest()), preserving_proto_field_name=True)
    return TokenVerifier.from_jwks(jwks)


async def test_a_resident_logs_in_with_the_code_sent_to_their_phone(identity) -> None:
    people = await community(identity.stub)

    tokens = await code_login(identity, people["ann:phone"])

    principal = (await verifier(identity.stub)).principal(tokens.access_token)
    assert (principal.subject, principal.roles) == (people["ann"], frozenset({"resident"}))
    assert tokens.resident == people["ann"] and tokens.refresh_token.startswith("lr1.c-east.")
    kinds = identity.uow.auth_events.kinds()
    assert kinds[-2:] == ["login_code_requested", "login_succeeded"]
    used = await refused(
        identity.stub.LoginWithCode,
        pb.LoginWithCodeRequest(
            parent=C,
            phone=people["ann:phone"],
            code=identity.login.sms.last_code(people["ann:phone"]),
        ),
    )
    assert used.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_phone_nobody_has_gets_the_same_answer_and_no_message(identity) -> None:
    await community(identity.stub)

    reply = await identity.stub.RequestLoginCode(
        pb.RequestLoginCodeRequest(parent=C, phone="13911112222")
    )

    assert reply.HasField("expire_time") and identity.login.sms.sent == []
    error = await refused(
        identity.stub.LoginWithCode,
        pb.LoginWithCodeRequest(parent=C, phone="13911112222", code="000000"),
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_wrong_codes_lock_the_phone_out_with_a_retry_after(identity, login_clock) -> None:
    people = await community(identity.stub)
    phone = people["ann:phone"]
    await identity.stub.RequestLoginCode(pb.RequestLoginCodeRequest(parent=C, phone=phone))
    right = identity.login.sms.last_code(phone)
    wrong = pb.LoginWithCodeRequest(parent=C, phone=phone, code=f"{(int(right) + 1) % 10**6:06d}")

    codes = [(await refused(identity.stub.LoginWithCode, wrong)).code() for _ in range(5)]
    locked = await refused(
        identity.stub.LoginWithCode, pb.LoginWithCodeRequest(parent=C, phone=phone, code=right)
    )

    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 5
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry after 30 s" in locked.details()
    assert identity.uow.auth_events.kinds().count("login_failed") == 5
    assert identity.uow.auth_events.kinds()[-1] == "login_locked_out"
    login_clock.advance(seconds=31)
    reply = await identity.stub.LoginWithCode(
        pb.LoginWithCodeRequest(parent=C, phone=phone, code=right)
    )
    assert reply.tokens.resident == people["ann"]


# The lockout is per phone and per address, beneath the per-caller call limits: off here.
@pytest.mark.parametrize("limits", [{}])
async def test_one_client_address_is_locked_out_across_phones(identity) -> None:
    await community(identity.stub)

    for number in range(20):
        wrong = pb.LoginWithCodeRequest(parent=C, phone=f"1370000{number:04d}", code="000000")
        assert (await refused(identity.stub.LoginWithCode, wrong)).code() == (
            grpc.StatusCode.UNAUTHENTICATED
        )
    another = pb.LoginWithCodeRequest(parent=C, phone="13700009999", code="000000")

    assert (await refused(identity.stub.LoginWithCode, another)).code() == (
        grpc.StatusCode.RESOURCE_EXHAUSTED
    )


async def test_staff_log_in_by_password_with_their_staff_roles(identity) -> None:
    people = await community(identity.stub, "social_worker")
    phone = people["social_worker:phone"]

    reply = await identity.stub.LoginWithPassword(
        pb.LoginWithPasswordRequest(parent=C, phone=phone, password=PASSWORD)
    )
    by_code = await code_login(identity, phone)

    assert set(reply.tokens.roles) == {"resident", "social_worker"}
    assert list(by_code.roles) == ["resident"]
    for wrong in (
        pb.LoginWithPasswordRequest(parent=C, phone=phone, password="not the password"),
        pb.LoginWithPasswordRequest(parent=C, phone=people["ann:phone"], password=PASSWORD),
        pb.LoginWithPasswordRequest(parent=C, phone="13911112222", password=PASSWORD),
    ):
        error = await refused(identity.stub.LoginWithPassword, wrong)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (
        "argon2id"
        in identity.uow.passwords.rows[("c-east", people["social_worker"].split("/")[-1])]
    )


async def test_a_password_is_for_staff_and_long_enough(identity) -> None:
    people = await community(identity.stub, "committee_member")

    short = await refused(
        identity.stub.SetPassword,
        pb.SetPasswordRequest(resident=people["committee_member"], password="short"),
    )
    resident = await refused(
        identity.stub.SetPassword, pb.SetPasswordRequest(resident=people["ann"], password=PASSWORD)
    )

    assert short.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert resident.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_refresh_token_rotates_and_a_reused_one_ends_the_family(identity) -> None:
    people = await community(identity.stub)
    first = await code_login(identity, people["ann:phone"])

    second = (
        await identity.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token))
    ).tokens
    reused = await refused(
        identity.stub.RefreshToken, pb.RefreshTokenRequest(refresh_token=first.refresh_token)
    )
    after = await refused(
        identity.stub.RefreshToken, pb.RefreshTokenRequest(refresh_token=second.refresh_token)
    )

    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert reused.code() == after.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "refresh_reused" in identity.uow.auth_events.kinds()


async def test_a_role_change_ends_the_sessions_at_the_next_refresh(identity) -> None:
    people = await community(identity.stub, "sre")
    login = await identity.stub.LoginWithPassword(
        pb.LoginWithPasswordRequest(parent=C, phone=people["sre:phone"], password=PASSWORD)
    )

    await identity.stub.RevokeRole(pb.RevokeRoleRequest(resident=people["sre"], role="sre"))

    error = await refused(
        identity.stub.RefreshToken, pb.RefreshTokenRequest(refresh_token=login.tokens.refresh_token)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert identity.uow.auth_events.kinds()[-2:] == ["tokens_revoked", "refresh_refused"]


async def test_logout_ends_the_family(identity) -> None:
    people = await community(identity.stub)
    tokens = await code_login(identity, people["ann:phone"])

    reply = await identity.stub.Logout(pb.LogoutRequest(refresh_token=tokens.refresh_token))

    assert reply.resident == people["ann"]
    error = await refused(
        identity.stub.RefreshToken, pb.RefreshTokenRequest(refresh_token=tokens.refresh_token)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_forged_or_malformed_refresh_token_is_refused(identity) -> None:
    people = await community(identity.stub)
    tokens = await code_login(identity, people["ann:phone"])
    forged = tokens.refresh_token[:-4] + (
        "AAAA" if not tokens.refresh_token.endswith("AAAA") else "BBBB"
    )

    bad_secret = await refused(
        identity.stub.RefreshToken, pb.RefreshTokenRequest(refresh_token=forged)
    )
    malformed = await refused(
        identity.stub.RefreshToken, pb.RefreshTokenRequest(refresh_token="eyJhbGciOi")
    )

    assert bad_secret.code() == grpc.StatusCode.UNAUTHENTICATED
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_audit_lists_logins_newest_first_with_masked_phones(identity) -> None:
    people = await community(identity.stub)
    await code_login(identity, people["ann:phone"])

    reply = await identity.stub.ListAuthEvents(pb.ListAuthEventsRequest(parent=C, page_size=1))
    rest = await identity.stub.ListAuthEvents(
        pb.ListAuthEventsRequest(parent=C, page_token=reply.next_page_token)
    )

    assert [e.kind for e in reply.events] == ["login_succeeded"]
    assert reply.events[0].phone == "*******0000" and reply.events[0].resident == people["ann"]
    assert "login_code_requested" in [e.kind for e in rest.events]


def test_without_signing_keys_login_is_unavailable(uow, login_clock) -> None:
    with uow:
        uow.communities.add(Community.create("c-east", "East", T))
    ports = LoginPorts(fakes.FakeSms(), Argon2PasswordHasher(), NoSigningKeys(), login_clock)

    with pytest.raises(Unavailable, match="SIGNING_KEYS"):
        login_use_cases.request_login_code(
            RequestLoginCode("c-east", "13800000001", "ipv4:10.0.0.1"), uow, ports
        )
    assert ports.signer.jwks() == [] and ports.sms.sent == []


def test_a_development_token_names_the_person_by_phone_and_is_audited(uow, login) -> None:
    with uow:
        uow.communities.add(Community.create("c-east", "East", T))
        wang = Resident.register("c-east", "Wang", "13800000002", "", T)
        wang.roles.add(Role.SRE)
        uow.residents.add(wang)

    token = sessions.development_token("c-east", "13800000002", uow, login)

    principal = TokenVerifier.from_jwks({"keys": login.signer.jwks()}).principal(token)
    assert principal.roles == frozenset({"resident", "sre"})
    assert uow.auth_events.kinds() == ["development_token"]
    with pytest.raises(NotFound):
        sessions.development_token("c-east", "13999999999", uow, login)


async def test_code_requests_are_refused_while_locked_out_and_past_the_quota(identity) -> None:
    people = await community(identity.stub)
    request = pb.RequestLoginCodeRequest(parent=C, phone=people["ann:phone"])
    for _ in range(5):
        await identity.stub.RequestLoginCode(request)

    over_quota = await refused(identity.stub.RequestLoginCode, request)
    for _ in range(5):
        wrong = pb.LoginWithCodeRequest(parent=C, phone="13911112222", code="000000")
        await refused(identity.stub.LoginWithCode, wrong)
    locked = await refused(
        identity.stub.RequestLoginCode, pb.RequestLoginCodeRequest(parent=C, phone="13911112222")
    )

    assert over_quota.code() == locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many login codes" in over_quota.details()
    assert "too many failed logins" in locked.details()
    assert identity.uow.auth_events.kinds().count("login_locked_out") == 2
    assert len(identity.login.sms.sent) == 5


async def test_a_new_password_ends_the_staff_members_sessions(identity) -> None:
    people = await community(identity.stub, "committee_member")
    login = await identity.stub.LoginWithPassword(
        pb.LoginWithPasswordRequest(
            parent=C, phone=people["committee_member:phone"], password=PASSWORD
        )
    )

    await identity.stub.SetPassword(
        pb.SetPasswordRequest(
            resident=people["committee_member"], password="a brand new passphrase"
        )
    )

    stale = pb.RefreshTokenRequest(refresh_token=login.tokens.refresh_token)
    assert (await refused(identity.stub.RefreshToken, stale)).code() == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    old = pb.LoginWithPasswordRequest(
        parent=C, phone=people["committee_member:phone"], password=PASSWORD
    )
    assert (await refused(identity.stub.LoginWithPassword, old)).code() == (
        grpc.StatusCode.UNAUTHENTICATED
    )


# ---- through the gateway --------------------------------------------------------------


@pytest.fixture
async def via_gateway(uow, clock, app_parts, login, tokens, limits):
    """Identity on mutual TLS, and stubs through the gateway's certificate per browser address."""
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
        limits=limits,
    )
    running = await start(app, "127.0.0.1", 0, Transport(tokens.tls("c-east", "identity")))
    channels: list[grpc.aio.Channel] = []

    def stub(certificate: str, *metadata: tuple[str, str]) -> pb_grpc.IdentityServiceStub:
        credentials = tokens.tls("c-east", certificate).channel_credentials()
        channel = grpc.aio.secure_channel(
            f"localhost:{running.port}", credentials, interceptors=[with_metadata(metadata)]
        )
        channels.append(channel)
        return pb_grpc.IdentityServiceStub(channel)

    await community(stub("gateway", *tokens.person(*OPERATOR)))
    yield stub
    for channel in channels:
        await channel.close()
    await running.stop(grace=0)


async def test_each_browser_behind_the_gateway_has_its_own_login_budget(via_gateway) -> None:
    first, second = (
        via_gateway("gateway", *client_address_metadata(a)) for a in ("203.0.113.1", "2001:db8::2")
    )
    elsewhere = via_gateway("attendance", *client_address_metadata("203.0.113.3"))
    ask = [pb.RequestLoginCodeRequest(parent=C, phone=f"1370000{n:04d}") for n in range(11)]

    for request in ask[:10]:
        await first.RequestLoginCode(request)
    over = await refused(first.RequestLoginCode, ask[10])
    for request in ask[:10]:  # another browser: a budget of its own
        await second.RequestLoginCode(request)
    for request in ask[:10]:  # another service naming an address is one caller: itself
        await elsewhere.RequestLoginCode(request)
    itself = await refused(
        via_gateway("attendance", *client_address_metadata("203.0.113.4")).RequestLoginCode,
        ask[10],
    )

    assert over.code() == itself.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many calls" in over.details()


# The lockout per address, beneath the per-caller call limits: off here.
@pytest.mark.parametrize("limits", [{}])
async def test_one_browser_behind_the_gateway_is_locked_out_and_not_the_next(
    via_gateway, uow
) -> None:
    first, second = (
        via_gateway("gateway", *client_address_metadata(a)) for a in ("203.0.113.1", "203.0.113.2")
    )
    wrong = [
        pb.LoginWithCodeRequest(parent=C, phone=f"1370000{n:04d}", code="000000") for n in range(21)
    ]
    for request in wrong[:20]:
        assert (await refused(first.LoginWithCode, request)).code() == (
            grpc.StatusCode.UNAUTHENTICATED
        )

    locked = await refused(first.LoginWithCode, wrong[20])
    not_locked = await refused(second.LoginWithCode, wrong[20])

    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not_locked.code() == grpc.StatusCode.UNAUTHENTICATED
    assert {e.client for e in uow.auth_events.rows} >= {"ipv4:203.0.113.1", "ipv4:203.0.113.2"}
