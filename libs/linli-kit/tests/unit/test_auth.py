"""Principals, policy tables, access tokens and mutual TLS, through a real grpc.aio server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.empty_pb2 import Empty
from google.protobuf.wrappers_pb2 import StringValue

from linli_kit import auth
from linli_kit.auth import Kind, Principal
from linli_kit.errors import PermissionDenied, ResourceExhausted
from linli_kit.grpc_server import GrpcApp, Transport, start
from linli_kit.pki import DevelopmentCA
from linli_kit.ratelimits import Buckets, per_minute

SERVICE = "test.v1.Echo"
POLICY: auth.Policy = {
    "Public": auth.public(),
    "Mine": auth.persons(),
    "Staff": auth.persons("social_worker", "grid_head"),
    "FromAttendance": auth.services("attendance"),
    "Partner": auth.partners("eligibility:check"),
    "Peer": auth.peers(),
    "Watch": auth.persons(),
    "Hold": auth.persons(),
}
METHODS = [*POLICY, "Unlisted"]


def test_deny_by_default_an_rpc_without_an_entry_refuses_everyone() -> None:
    assert auth.missing_entries(POLICY, METHODS) == ["Unlisted"]
    person = Principal(Kind.PERSON, "communities/c/residents/r", "c", frozenset({"sre"}))
    with pytest.raises(PermissionDenied):
        auth.authorise(POLICY, "Unlisted", person)
    with pytest.raises(PermissionDenied):
        auth.authorise(POLICY, "Unlisted", auth.ANONYMOUS)


def test_roles_subjects_and_scopes_decide() -> None:
    resident = Principal(Kind.PERSON, "communities/c/residents/r", "c", frozenset({"resident"}))
    worker = Principal(Kind.PERSON, "communities/c/residents/w", "c", frozenset({"social_worker"}))
    attendance = Principal(Kind.SERVICE, "attendance", "c")
    points = Principal(Kind.SERVICE, "points", "c")
    bank = Principal(Kind.PARTNER, "bank-1", "c", scopes=frozenset({"eligibility:check"}))
    shop = Principal(Kind.PARTNER, "shop-1", "c")
    auth.authorise(POLICY, "Mine", resident)
    auth.authorise(POLICY, "Staff", worker)
    auth.authorise(POLICY, "FromAttendance", attendance)
    auth.authorise(POLICY, "Partner", bank)
    auth.authorise(POLICY, "Public", auth.ANONYMOUS)
    for method, principal in [
        ("Staff", resident),
        ("FromAttendance", points),
        ("Partner", shop),
        ("Mine", attendance),
    ]:
        with pytest.raises(PermissionDenied):
            auth.authorise(POLICY, method, principal)
    with pytest.raises(auth.Unauthenticated):
        auth.authorise(POLICY, "Mine", auth.ANONYMOUS)


def test_a_token_names_its_person_and_expires() -> None:
    key = auth.SigningKey.generate("k1")
    verifier = auth.TokenVerifier.from_jwks({"keys": [key.public_jwk]})
    token = auth.issue_access_token(
        key, subject="communities/c/residents/r", community="c", roles=["resident"]
    )
    assert verifier.principal(token) == Principal(
        Kind.PERSON, "communities/c/residents/r", "c", frozenset({"resident"})
    )
    expired = auth.issue_access_token(
        key, subject="s", community="c", roles=[], ttl_seconds=60, now=time.time() - 3600
    )
    with pytest.raises(auth.Unauthenticated, match="expired"):
        verifier.principal(expired)
    with pytest.raises(ValueError):
        auth.issue_access_token(key, subject="s", community="c", roles=[], ttl_seconds=3600)


def test_a_forged_or_unknown_key_is_refused_and_a_rotated_key_verifies_until_removed() -> None:
    old, new, forger = (auth.SigningKey.generate(k) for k in ("k1", "k2", "k1"))
    verifier = auth.TokenVerifier.from_jwks({"keys": [old.public_jwk, new.public_jwk]})
    for key in (old, new):
        verifier.principal(auth.issue_access_token(key, subject="s", community="c", roles=[]))
    forged = auth.issue_access_token(forger, subject="s", community="c", roles=["sre"])
    with pytest.raises(auth.Unauthenticated, match="invalid"):
        verifier.principal(forged)
    after_rotation = auth.TokenVerifier.from_jwks({"keys": [new.public_jwk]})
    with pytest.raises(auth.Unauthenticated, match="does not trust"):
        after_rotation.principal(auth.issue_access_token(old, subject="s", community="c", roles=[]))
    with pytest.raises(auth.Unauthenticated):
        verifier.principal("not-a-jwt")


def test_spiffe_ids_name_services_partners_and_peers() -> None:
    assert auth.machine_principal("spiffe://linli/xinhua/attendance") == Principal(
        Kind.SERVICE, "attendance", "xinhua"
    )
    assert auth.machine_principal("spiffe://linli/xinhua/partner/bank-1").kind is Kind.PARTNER
    peer = auth.machine_principal("spiffe://linli/east/points", frozenset({"east"}))
    assert peer == Principal(Kind.PEER, "east", "east")
    assert auth.machine_principal("spiffe://linli/east/points").kind is Kind.SERVICE
    with pytest.raises(auth.Unauthenticated):
        auth.machine_principal("spiffe://evil/xinhua/points")


# ---- through a real server ------------------------------------------------------------


def _echo_handler() -> grpc.GenericRpcHandler:
    async def who(request: Empty, context: grpc.aio.ServicerContext) -> StringValue:
        p = auth.current_principal()
        return StringValue(value=f"{p.kind}:{p.subject}:{p.community}")

    async def watch(
        request: Empty, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[StringValue]:
        for _ in range(2):
            yield StringValue(value=auth.current_principal().subject)

    async def hold(request: Empty, context: grpc.aio.ServicerContext) -> AsyncIterator[StringValue]:
        yield StringValue(value="open")
        await asyncio.Event().wait()  # until the caller hangs up

    wire = {
        "request_deserializer": Empty.FromString,
        "response_serializer": StringValue.SerializeToString,
    }
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(who, **wire)
        for name in METHODS
        if name not in ("Watch", "Hold")
    }
    handlers["Watch"] = grpc.unary_stream_rpc_method_handler(watch, **wire)
    handlers["Hold"] = grpc.unary_stream_rpc_method_handler(hold, **wire)
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


@pytest.fixture
def ca() -> DevelopmentCA:
    """The community's test CA."""
    return DevelopmentCA.create()


@pytest.fixture
def key() -> auth.SigningKey:
    """Identity's current signing key."""
    return auth.SigningKey.generate("k1")


class Partners:
    """The partners service's answers: bank-1 checks eligibility, shop-1 nothing, others none."""

    def __init__(self) -> None:
        self.known = {"bank-1": frozenset({"eligibility:check"}), "shop-1": frozenset()}

    async def scopes(self, community_id: str, partner_id: str) -> frozenset[str] | None:
        return self.known.get(partner_id) if community_id == "xinhua" else None


@pytest.fixture
def partners() -> Partners:
    """Where the server looks partners' scopes up."""
    return Partners()


@pytest.fixture
async def server(ca: DevelopmentCA, key: auth.SigningKey, partners: Partners) -> AsyncIterator[int]:
    """The kit's server on mutual TLS, its auth interceptor in front of the echo service."""
    app = GrpcApp(
        "echo",
        lambda server: server.add_generic_rpc_handlers([_echo_handler()]),
        {SERVICE: POLICY},
        auth.PublishedKeys(lambda: {"keys": [key.public_jwk]}),
        partners=partners,
    )
    transport = Transport(ca.tls_files("spiffe://linli/xinhua/points"))
    running = await start(app, "127.0.0.1", 0, transport)
    yield running.port
    await running.stop(0)


def _channel(port: int, client: auth.TlsFiles) -> grpc.aio.Channel:
    return grpc.aio.secure_channel(f"localhost:{port}", client.channel_credentials())


async def _call(
    channel: grpc.aio.Channel, method: str, metadata: tuple[tuple[str, str], ...] = ()
) -> str:
    call = channel.unary_unary(
        f"/{SERVICE}/{method}",
        request_serializer=Empty.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    reply = await call(Empty(), metadata=metadata, timeout=5)
    return str(reply.value)


async def test_a_service_certificate_is_a_service_and_cannot_act_as_a_person(
    server: int, ca: DevelopmentCA
) -> None:
    async with _channel(server, ca.tls_files("spiffe://linli/xinhua/attendance")) as ch:
        assert await _call(ch, "FromAttendance") == "service:attendance:xinhua"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(ch, "Mine")
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as unlisted:
            await _call(ch, "Unlisted")
        assert unlisted.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_person_token_rides_on_the_service_channel(
    server: int, ca: DevelopmentCA, key: auth.SigningKey
) -> None:
    token = auth.issue_access_token(
        key, subject="communities/xinhua/residents/r1", community="xinhua", roles=["resident"]
    )
    async with _channel(server, ca.tls_files("spiffe://linli/xinhua/gateway")) as ch:
        assert await _call(ch, "Mine", auth.bearer(token)) == (
            "person:communities/xinhua/residents/r1:xinhua"
        )
        watch = ch.unary_stream(
            f"/{SERVICE}/Watch",
            request_serializer=Empty.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        stream = watch(Empty(), metadata=auth.bearer(token))
        assert [m.value async for m in stream] == ["communities/xinhua/residents/r1"] * 2
        with pytest.raises(grpc.aio.AioRpcError) as staff_only:
            await _call(ch, "Staff", auth.bearer(token))
        assert staff_only.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await _call(ch, "Mine", (("authorization", "Bearer forged.token.here"),))
        assert bad.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_partner_holds_the_scopes_the_partners_service_keeps_and_loses_them_at_once(
    server: int, ca: DevelopmentCA, partners: Partners
) -> None:
    async with (
        _channel(server, ca.tls_files("spiffe://linli/xinhua/partner/bank-1")) as bank,
        _channel(server, ca.tls_files("spiffe://linli/xinhua/partner/shop-1")) as shop,
        _channel(server, ca.tls_files("spiffe://linli/xinhua/partner/unknown")) as stranger,
    ):
        assert await _call(bank, "Partner") == "partner:bank-1:xinhua"
        for channel, method in ((shop, "Partner"), (stranger, "Public")):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _call(channel, method)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        del partners.known["bank-1"]  # revoked: no certificate is reissued
        with pytest.raises(grpc.aio.AioRpcError) as revoked:
            await _call(bank, "Partner")
        assert revoked.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "revoked" in (revoked.value.details() or "")


async def test_one_caller_holds_a_bounded_number_of_open_streams(
    server: int, ca: DevelopmentCA, key: auth.SigningKey
) -> None:
    def token(resident: str) -> auth.Metadata:
        subject = f"communities/xinhua/residents/{resident}"
        return auth.bearer(
            auth.issue_access_token(key, subject=subject, community="xinhua", roles=[])
        )

    async with _channel(server, ca.tls_files("spiffe://linli/xinhua/gateway")) as ch:
        hold = ch.unary_stream(
            f"/{SERVICE}/Hold",
            request_serializer=Empty.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        opened = [hold(Empty(), metadata=token("r1")) for _ in range(auth.MAX_STREAMS_PER_CALLER)]
        for stream in opened:
            assert (await stream.read()).value == "open"
        refused = hold(Empty(), metadata=token("r1"))
        with pytest.raises(grpc.aio.AioRpcError) as too_many:
            await refused.read()
        assert too_many.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        other = hold(Empty(), metadata=token("r2"))  # another caller is not held back
        assert (await other.read()).value == "open"
        opened[0].cancel()
        await asyncio.sleep(0.2)
        again = hold(Empty(), metadata=token("r1"))
        assert (await again.read()).value == "open"
        for stream in [*opened[1:], other, again]:
            stream.cancel()


async def test_a_client_certificate_from_another_ca_is_refused(
    server: int, ca: DevelopmentCA
) -> None:
    stranger = DevelopmentCA.create().tls_files("spiffe://linli/xinhua/attendance")
    async with _channel(server, stranger) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(ch, "FromAttendance")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    no_client_cert = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
    async with grpc.aio.secure_channel(f"localhost:{server}", no_client_cert) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(ch, "Public")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_same_claims_sign_to_the_very_same_token() -> None:
    key = auth.SigningKey.generate("k1")
    first, again = (
        auth.issue_access_token(
            key, subject="s", community="c", roles=["resident"], now=1.8e9, jti="j1"
        )
        for _ in range(2)
    )
    assert first == again


async def test_published_keys_learn_a_rotation_and_forget_a_key_that_left_the_ring() -> None:
    old, new = auth.SigningKey.generate("k1"), auth.SigningKey.generate("k2")
    ring = [old]
    fetches: list[int] = []

    def fetch() -> dict[str, object]:
        fetches.append(len(ring))
        return {"keys": [k.public_jwk for k in ring]}

    keys = auth.PublishedKeys(fetch, max_age_seconds=3600, retry_seconds=0)
    await keys.principal(auth.issue_access_token(old, subject="s", community="c", roles=[]))
    ring.append(new)  # identity rotates: k2 signs, k1 still verifies
    await keys.principal(auth.issue_access_token(new, subject="s", community="c", roles=[]))
    assert fetches == [1, 2]
    ring.remove(old)
    keys.max_age_seconds = 0  # the cache ages out: k1 left the ring and stops verifying
    with pytest.raises(auth.Unauthenticated, match="does not trust"):
        await keys.principal(auth.issue_access_token(old, subject="s", community="c", roles=[]))


async def test_published_keys_keep_what_they_know_when_identity_cannot_answer() -> None:
    key = auth.SigningKey.generate("k1")
    answers: list[dict[str, object]] = [{"keys": [key.public_jwk]}]

    def fetch() -> dict[str, object]:
        if not answers:
            raise grpc.RpcError()
        return answers.pop()

    keys = auth.PublishedKeys(fetch, max_age_seconds=0)
    token = auth.issue_access_token(key, subject="s", community="c", roles=[])
    await keys.principal(token)
    assert (await keys.principal(token)).subject == "s"
    assert not answers  # the second call did try


def test_a_bucket_refills_at_its_rate_and_says_when_to_retry() -> None:
    now = [0.0]
    buckets = Buckets(capacity=2, clock=lambda: now[0])
    limit = per_minute(6, burst=2)
    buckets.charge("a", limit)
    buckets.charge("a", limit)
    with pytest.raises(ResourceExhausted, match="retry after 10 s"):
        buckets.charge("a", limit)
    buckets.charge("b", limit)  # another caller has a bucket of its own
    now[0] = 10.0
    buckets.charge("a", limit)
    buckets.charge("c", limit)
    assert len(buckets._buckets) == 2  # the least recently used ("b") was forgotten


async def test_a_declared_limit_is_charged_per_caller_after_admission(
    ca: DevelopmentCA, key: auth.SigningKey
) -> None:
    app = GrpcApp(
        "echo",
        lambda server: server.add_generic_rpc_handlers([_echo_handler()]),
        {SERVICE: POLICY},
        auth.PublishedKeys(lambda: {"keys": [key.public_jwk]}),
        limits={SERVICE: {"Mine": per_minute(1), "Public": per_minute(1)}},
    )
    running = await start(app, "127.0.0.1", 0)
    tokens = [
        auth.issue_access_token(
            key, subject=f"communities/c/residents/{r}", community="c", roles=[]
        )
        for r in ("r1", "r2")
    ]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            await _call(ch, "Mine", auth.bearer(tokens[0]))
            await _call(ch, "Mine", auth.bearer(tokens[1]))
            await _call(ch, "Public")
            for metadata in (auth.bearer(tokens[0]), ()):
                method = "Mine" if metadata else "Public"
                with pytest.raises(grpc.aio.AioRpcError) as limited:
                    await _call(ch, method, metadata)
                assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            worker = auth.issue_access_token(
                key, subject="communities/c/residents/w", community="c", roles=["social_worker"]
            )
            for _ in range(3):  # an RPC without a limit
                await _call(ch, "Staff", auth.bearer(worker))
    finally:
        await running.stop(0)


async def test_a_blocking_channel_carries_a_token_only_over_tls(
    server: int, ca: DevelopmentCA, key: auth.SigningKey
) -> None:
    token = auth.issue_access_token(
        key, subject="communities/xinhua/residents/r1", community="xinhua", roles=()
    )
    client = ca.tls_files("spiffe://linli/xinhua/gateway")
    with auth.channel(f"127.0.0.1:{server}", client, token) as channel:
        who = channel.unary_unary(
            f"/{SERVICE}/Mine",
            request_serializer=Empty.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        reply = await asyncio.to_thread(who, Empty(), timeout=5)
    assert reply.value == "person:communities/xinhua/residents/r1:xinhua"
    with pytest.raises(ValueError, match="only over TLS"):
        auth.channel("127.0.0.1:1", None, token)


async def test_calls_arriving_while_the_keys_are_fetched_wait_for_them() -> None:
    key = auth.SigningKey.generate("k1")

    def slow_fetch() -> dict[str, object]:
        time.sleep(0.3)
        return {"keys": [key.public_jwk]}

    keys = auth.PublishedKeys(slow_fetch)
    token = auth.issue_access_token(key, subject="s", community="c", roles=())
    found = await asyncio.gather(*(keys.principal(token) for _ in range(5)))
    assert {p.subject for p in found} == {"s"}


async def test_a_token_is_verified_once_until_its_expiry_or_a_key_fetch(monkeypatch) -> None:
    key = auth.SigningKey.generate("k1")
    keys = auth.PublishedKeys(lambda: {"keys": [key.public_jwk]})
    checked: list[str] = []
    token = auth.issue_access_token(key, subject="s", community="c", roles=(), ttl_seconds=60)
    await keys.principal(token)  # fetches the keys: a new verifier
    verify = keys.verifier.verify

    def counting(token: str) -> tuple[Principal, float]:
        checked.append(token)
        return verify(token)

    monkeypatch.setattr(keys.verifier, "verify", counting)
    for _ in range(3):
        assert (await keys.principal(token)).subject == "s"
    assert checked == []  # remembered from the first call
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)  # after its expiry
    await keys.principal(token)  # PyJWT's own clock still says valid; the cache says look again
    assert checked == [token]
    assert token in keys._verified
    await keys._fetch()  # fetching the keys again forgets every verified token
    assert not keys._verified


async def test_the_gateway_names_the_browser_address_and_nobody_else_can(
    ca: DevelopmentCA, key: auth.SigningKey
) -> None:
    app = GrpcApp(
        "echo",
        lambda server: server.add_generic_rpc_handlers([_echo_handler()]),
        {SERVICE: POLICY},
        auth.PublishedKeys(lambda: {"keys": [key.public_jwk]}),
        limits={SERVICE: {"Public": per_minute(1)}},
    )
    running = await start(
        app, "127.0.0.1", 0, Transport(ca.tls_files("spiffe://linli/xinhua/identity"))
    )
    browser = {n: auth.client_address_metadata(f"203.0.113.{n}") for n in (1, 2, 3, 4)}

    async def refused(channel: grpc.aio.Channel, metadata: auth.Metadata) -> grpc.StatusCode:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await _call(channel, "Public", metadata)
        return error.value.code()

    try:
        async with (
            _channel(running.port, ca.tls_files("spiffe://linli/xinhua/gateway")) as gateway,
            _channel(running.port, ca.tls_files("spiffe://linli/xinhua/attendance")) as other,
        ):
            await _call(gateway, "Public", browser[1])
            await _call(gateway, "Public", browser[2])  # another browser: its own bucket
            assert await refused(gateway, browser[1]) == grpc.StatusCode.RESOURCE_EXHAUSTED
            await _call(gateway, "Public")  # the gateway's own calls: its own bucket
            bad = ((auth.CLIENT_ADDRESS_HEADER, "not-an-address"),)
            assert await refused(gateway, bad) == grpc.StatusCode.INVALID_ARGUMENT
            # Another service naming addresses is charged as itself: the header is ignored.
            await _call(other, "Public", browser[3])
            assert await refused(other, browser[4]) == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        await running.stop(0)


async def test_the_handler_sees_the_browser_address_only_from_the_gateway(
    ca: DevelopmentCA, key: auth.SigningKey
) -> None:
    async def where(request: Empty, context: grpc.aio.ServicerContext) -> StringValue:
        return StringValue(value=auth.client_address())

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Public": grpc.unary_unary_rpc_method_handler(
                where,
                request_deserializer=Empty.FromString,
                response_serializer=StringValue.SerializeToString,
            )
        },
    )
    app = GrpcApp(
        "echo",
        lambda server: server.add_generic_rpc_handlers([handler]),
        {SERVICE: {"Public": auth.public()}},
        auth.PublishedKeys(lambda: {"keys": [key.public_jwk]}),
    )
    running = await start(
        app, "127.0.0.1", 0, Transport(ca.tls_files("spiffe://linli/xinhua/identity"))
    )
    forwarded = auth.client_address_metadata("2001:db8::1")
    try:
        async with (
            _channel(running.port, ca.tls_files("spiffe://linli/xinhua/gateway")) as gateway,
            _channel(running.port, ca.tls_files("spiffe://linli/xinhua/attendance")) as other,
        ):
            assert await _call(gateway, "Public", forwarded) == "ipv6:[2001:db8::1]"
            assert await _call(other, "Public", forwarded) in ("ipv4:127.0.0.1", "ipv6:[::1]")
            assert await _call(gateway, "Public") in ("ipv4:127.0.0.1", "ipv6:[::1]")
    finally:
        await running.stop(0)
