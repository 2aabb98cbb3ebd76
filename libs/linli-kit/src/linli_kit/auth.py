"""Who is calling and whether they may: principals, policy tables, tokens and mutual TLS.

ARCHITECTURE §5. A call proves itself with a bearer access token (a person, through the
gateway) or a mutual-TLS client certificate whose SAN is `spiffe://linli/<community>/<name>`
(a service, a partner or a peer community). One server interceptor turns that into a
`Principal` and checks it against the servicer's policy table before the handler runs.
Deny by default: an RPC missing from the table refuses everyone. The gateway's own calls
(logins: nobody is signed in yet) may name the browser's address (`CLIENT_ADDRESS_HEADER`);
it is believed from the `gateway` service of this community only, ignored from anyone else.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import ipaddress
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from linli.identity.v1 import identity_service_pb2 as identity_pb
from linli.identity.v1 import identity_service_pb2_grpc as identity_grpc
from linli.partners.v1 import partners_service_pb2 as partners_pb
from linli.partners.v1 import partners_service_pb2_grpc as partners_grpc

from linli_kit.errors import (
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from linli_kit.interception import replies, rewrapped
from linli_kit.principals import (
    ANONYMOUS,
    Kind,
    Principal,
    acting_as,
    current_principal,
    done_acting,
)
from linli_kit.ratelimits import Buckets, Limits, RateLimit

__all__ = ["ANONYMOUS", "Kind", "Principal", "current_principal"]
log = logging.getLogger(__name__)

MAX_ACCESS_TOKEN_SECONDS = 15 * 60
ALGORITHM = "EdDSA"
ISSUER = "linli-identity"
_SPIFFE = re.compile(
    r"spiffe://linli/(?P<community>[a-z][a-z0-9-]{1,62})/(?P<path>[a-z0-9/-]{1,200})"
)


@dataclass(frozen=True)
class Allow:
    """One way to be allowed an RPC: a kind of caller, and for it any of the roles or names."""

    kind: Kind
    roles: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()

    def permits(self, principal: Principal) -> bool:
        """Whether this rule lets the principal in."""
        if self.kind is Kind.ANONYMOUS:
            return True
        if principal.kind is not self.kind:
            return False
        if self.roles and not principal.has_role(*self.roles):
            return False
        if self.subjects and principal.subject not in self.subjects:
            return False
        return self.scopes <= principal.scopes


def public() -> tuple[Allow, ...]:
    """Anyone, with or without credentials (the public leaderboard, login, JWKS)."""
    return (Allow(Kind.ANONYMOUS),)


def persons(*roles: str) -> tuple[Allow, ...]:
    """A signed-in person holding any of the roles (any person when none are named)."""
    return (Allow(Kind.PERSON, roles=frozenset(roles)),)


def services(*names: str) -> tuple[Allow, ...]:
    """Another Linli service of the same community, by its name (e.g. 'attendance')."""
    return (Allow(Kind.SERVICE, subjects=frozenset(names)),)


def partners(*scopes: str) -> tuple[Allow, ...]:
    """A partner enterprise whose credential carries every scope named."""
    return (Allow(Kind.PARTNER, scopes=frozenset(scopes)),)


def peers() -> tuple[Allow, ...]:
    """A peer community's points service (the time bank)."""
    return (Allow(Kind.PEER),)


Policy = Mapping[str, tuple[Allow, ...]]


def missing_entries(policy: Policy, method_names: Iterable[str]) -> list[str]:
    """The RPCs of a service that its policy table does not mention (each refuses everyone)."""
    return [name for name in method_names if name not in policy]


def authorise(policy: Policy, method: str, principal: Principal) -> None:
    """Raise unless the policy lets the principal call the method.

    Unauthenticated for an anonymous caller of a non-public RPC; PermissionDenied otherwise.
    """
    rules = policy.get(method, ())
    if any(rule.permits(principal) for rule in rules):
        return
    if principal.kind is Kind.ANONYMOUS and rules:
        raise Unauthenticated("this call needs credentials")
    raise PermissionDenied(f"{principal.kind} {principal.subject or ''} may not call {method}")


# ---- access tokens --------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key with its key id (the JWT `kid`)."""

    kid: str
    private_key: Ed25519PrivateKey

    @staticmethod
    def generate(kid: str | None = None) -> SigningKey:
        """A fresh key (identity's rotation and the tests use it)."""
        return SigningKey(kid or uuid.uuid4().hex[:12], Ed25519PrivateKey.generate())

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, for the JWKS identity publishes."""
        jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(
            self.private_key.public_key(), as_dict=True
        )
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def issue_access_token(
    key: SigningKey,
    *,
    subject: str,
    community: str,
    roles: Iterable[str],
    ttl_seconds: int = MAX_ACCESS_TOKEN_SECONDS,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """A signed access token for a person; at most 15 minutes long.

    Ed25519 signatures are deterministic: the same claims (a given `now` and `jti`) and key
    give the very same token, which is how a retried login answers alike.
    """
    if not 0 < ttl_seconds <= MAX_ACCESS_TOKEN_SECONDS:
        raise ValueError("an access token lives between 1 second and 15 minutes")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "community": community,
        "roles": sorted(roles),
        "jti": jti or uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


@dataclass
class TokenVerifier:
    """Checks access tokens against the public keys identity publishes (a JWKS)."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    leeway_seconds: int = 5

    @staticmethod
    def from_jwks(jwks: Mapping[str, Any]) -> TokenVerifier:
        """A verifier trusting every key in a JWKS document ({"keys": [...]})."""
        keys = {}
        for jwk in jwks.get("keys", []):
            public = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
            if not isinstance(public, Ed25519PublicKey):
                raise ValueError(f"key {jwk.get('kid')!r} is not an Ed25519 public key")
            keys[jwk["kid"]] = public
        return TokenVerifier(keys)

    def principal(self, token: str) -> Principal:
        """The person a token names, or Unauthenticated."""
        return self.verify(token)[0]

    def verify(self, token: str) -> tuple[Principal, float]:
        """The person a token names and when (epoch s) it stops verifying; or Unauthenticated."""
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            key = self.keys.get(kid)
            if key is None:
                raise Unauthenticated("the token is signed by a key this service does not trust")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid access token: {exc}") from exc
        if claims["exp"] - claims["iat"] > MAX_ACCESS_TOKEN_SECONDS:
            raise Unauthenticated("invalid access token: it lives longer than 15 minutes")
        community, roles = claims.get("community"), claims.get("roles", [])
        if not isinstance(community, str) or not isinstance(roles, list):
            raise Unauthenticated("invalid access token: malformed community or roles")
        person = Principal(Kind.PERSON, claims["sub"], community, frozenset(map(str, roles)))
        return person, float(claims["exp"] + self.leeway_seconds)


# ---- mutual TLS -----------------------------------------------------------------------


def machine_principal(san: str, peer_communities: frozenset[str] = frozenset()) -> Principal:
    """The principal a certificate's SAN names: a service, a partner or a peer community.

    `spiffe://linli/<c>/<service>` is a service of community c, `…/<c>/partner/<id>` a
    partner, and `…/<peer>/points` from a configured peer community is that peer.
    """
    match = _SPIFFE.fullmatch(san)
    if match is None:
        raise Unauthenticated(f"certificate identity {san!r} is not a Linli SPIFFE id")
    community, path = match["community"], match["path"]
    if path.startswith("partner/"):
        return Principal(Kind.PARTNER, path.removeprefix("partner/"), community)
    if path == "points" and community in peer_communities:
        return Principal(Kind.PEER, community, community)
    return Principal(Kind.SERVICE, path, community)


def peer_principal(
    auth_context: Mapping[str, Iterable[bytes]], peer_communities: frozenset[str] = frozenset()
) -> Principal | None:
    """The machine principal of a verified client certificate, or None without one."""
    sans = [
        value.decode()
        for value in auth_context.get("x509_subject_alternative_name", ())
        if value.startswith(b"spiffe://")
    ]
    if not sans:
        return None
    return machine_principal(sans[0], peer_communities)


@dataclass(frozen=True)
class TlsFiles:
    """A party's key and certificate and the community CA, as PEM (a Kubernetes TLS Secret)."""

    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes

    @staticmethod
    def from_dir(directory: str | Path) -> TlsFiles:
        """Read `tls.key`, `tls.crt` and `ca.crt` (cert-manager's Secret layout)."""
        folder = Path(directory)
        return TlsFiles(
            (folder / "tls.key").read_bytes(),
            (folder / "tls.crt").read_bytes(),
            (folder / "ca.crt").read_bytes(),
        )

    def server_credentials(self) -> grpc.ServerCredentials:
        """TLS for a server that requires a client certificate signed by the community CA."""
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)], root_certificates=self.ca_pem, require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """TLS for a client presenting its own certificate and trusting the community CA."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem, private_key=self.key_pem, certificate_chain=self.cert_pem
        )


def channel(address: str, tls: TlsFiles | None, token: str | None = None) -> grpc.Channel:
    """A blocking channel to another service: mutual TLS when configured, else plaintext.

    With a token (mutual TLS only), every call on the channel carries it as a bearer token.
    """
    if tls is None:
        if token is not None:
            raise ValueError("a bearer token travels only over TLS")
        return grpc.insecure_channel(address)
    credentials = tls.channel_credentials()
    if token is not None:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )
    return grpc.secure_channel(address, credentials)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying a person's access token."""
    return (("authorization", f"Bearer {token}"),)


Metadata = tuple[tuple[str, str], ...]


class _AttachMetadata(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Adds the caller's credentials to every call of an asyncio channel."""

    def __init__(self, metadata: Callable[[], Metadata]) -> None:
        self.metadata = metadata

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        extra = grpc.aio.Metadata(*self.metadata())
        for key, value in details.metadata or ():
            extra.add(key, value)
        return details._replace(metadata=extra)

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


def with_metadata(metadata: Metadata | Callable[[], Metadata]) -> _AttachMetadata:
    """A client interceptor sending the metadata (e.g. `bearer(token)`) with every call."""
    return _AttachMetadata(metadata if callable(metadata) else lambda: metadata)


# ---- trusted signing keys -------------------------------------------------------------


class Verifier(Protocol):
    """Turns a bearer token into a person (the interceptor's view of the trusted keys)."""

    async def principal(self, token: str) -> Principal: ...


@dataclass
class PublishedKeys:
    """The signing keys identity publishes, fetched on first use and kept fresh.

    Refetched when a token names an unknown key (a rotation) at most every `retry_seconds`,
    and every `max_age_seconds` so that a key leaving identity's ring stops verifying here.
    A failed fetch keeps the keys already known. A client sends one token for many calls:
    tokens verified are remembered until they expire or the keys are fetched again (at most
    `remembered` of them), so the signature is checked once per token, not once per call.
    """

    fetch: Callable[[], Mapping[str, Any]]
    max_age_seconds: float = 300.0
    retry_seconds: float = 10.0
    verifier: TokenVerifier = field(default_factory=TokenVerifier)
    remembered: int = 10_000
    _verified: OrderedDict[str, tuple[Principal, float]] = field(
        default_factory=OrderedDict, init=False
    )
    _fetched_at: float = field(default=float("-inf"), init=False)
    _tried_at: float = field(default=float("-inf"), init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def principal(self, token: str) -> Principal:
        """The person a token names, or Unauthenticated."""
        # A call arriving while a fetch runs waits for it rather than verifying with old keys.
        if self._needs_fetch(token) or self._lock.locked():
            async with self._lock:
                if self._needs_fetch(token):  # not fetched meanwhile by a concurrent call
                    await self._fetch()
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            self._verified.move_to_end(token)
            return known[0]
        principal, expires = self.verifier.verify(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self.remembered:
            self._verified.popitem(last=False)
        return principal

    def _needs_fetch(self, token: str) -> bool:
        now = time.monotonic()
        if now - self._fetched_at > self.max_age_seconds:
            return now - self._tried_at > min(self.retry_seconds, self.max_age_seconds)
        if token in self._verified:
            return False
        return now - self._tried_at > self.retry_seconds and self._unknown_key(token)

    def _unknown_key(self, token: str) -> bool:
        try:
            return jwt.get_unverified_header(token).get("kid") not in self.verifier.keys
        except jwt.PyJWTError:
            return False

    async def _fetch(self) -> None:
        self._tried_at = time.monotonic()
        try:
            jwks = await asyncio.to_thread(self.fetch)
            self.verifier = TokenVerifier.from_jwks(jwks)
            self._verified.clear()  # a key may have left the ring
            self._fetched_at = time.monotonic()
        except (grpc.RpcError, ValueError, KeyError, jwt.PyJWTError) as exc:
            known = len(self.verifier.keys)
            log.warning("could not fetch the signing keys; keeping the %d known: %s", known, exc)


def identity_keys(channel: grpc.Channel, timeout: float = 3.0) -> PublishedKeys:
    """The signing keys the identity service behind the channel publishes (GetJwks)."""
    stub = identity_grpc.IdentityServiceStub(channel)
    fields = ("kty", "crv", "x", "kid", "alg", "use")

    def fetch() -> Mapping[str, Any]:
        reply = stub.GetJwks(identity_pb.GetJwksRequest(), timeout=timeout)
        return {"keys": [{f: getattr(key, f) for f in fields} for key in reply.keys]}

    return PublishedKeys(fetch)


class PartnerDirectory(Protocol):
    """What a partner may do: its scopes, kept by the partners service, revocable at once."""

    async def scopes(self, community_id: str, partner_id: str) -> frozenset[str] | None:
        """The partner's scopes now; None if it is not registered or was revoked."""
        ...


@dataclass(frozen=True)
class PartnersOverGrpc:
    """PartnerDirectory asking the partners service behind the channel, on every call."""

    channel: grpc.Channel
    timeout: float = 3.0

    async def scopes(self, community_id: str, partner_id: str) -> frozenset[str] | None:
        """The partner's scopes (GetPartnerScopes), asked now: a revocation holds at once."""
        name = f"communities/{community_id}/partners/{partner_id}"
        stub = partners_grpc.PartnersServiceStub(self.channel)
        request = partners_pb.GetPartnerScopesRequest(name=name)
        try:
            reply = await asyncio.to_thread(stub.GetPartnerScopes, request, timeout=self.timeout)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise Unavailable(f"partners service did not answer: {exc.code().name}") from exc
        return frozenset(reply.scopes)


# ---- the server interceptor -----------------------------------------------------------


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    for key, value in metadata:
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("authorization must be 'Bearer <access token>'")
            return token.strip()
    return None


MAX_STREAMS_PER_CALLER = 16
# The browser's address, sent by the gateway with the calls it makes for nobody signed in
# (logins): honoured only from the service principal named FORWARDER of this community.
CLIENT_ADDRESS_HEADER = "x-linli-client-address"
FORWARDER = "gateway"
_client: contextvars.ContextVar[str] = contextvars.ContextVar("linli_client", default="")


def client_address_metadata(address: str) -> Metadata:
    """Call metadata telling a service the browser address the gateway calls for."""
    return ((CLIENT_ADDRESS_HEADER, address),)


def _peer_address(context: grpc.aio.ServicerContext) -> str:
    """The transport peer without its port ('ipv4:10.0.0.7:51234' → 'ipv4:10.0.0.7')."""
    peer = context.peer() or ""
    if peer.startswith(("ipv4:", "ipv6:")):
        return peer.rpartition(":")[0][:100]
    return peer[:100]


def _forwarded_address(
    principal: Principal,
    metadata: Iterable[tuple[str, str | bytes]],
    peer_communities: frozenset[str],
) -> str | None:
    """The browser address the gateway of this community names; None from anyone else."""
    if (
        principal.kind is not Kind.SERVICE
        or principal.subject != FORWARDER
        or principal.community in peer_communities
    ):
        return None
    for key, value in metadata:
        if key == CLIENT_ADDRESS_HEADER:
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            try:
                address = ipaddress.ip_address(text.strip())
            except ValueError:
                raise InvalidArgument(f"{CLIENT_ADDRESS_HEADER} is not an IP address") from None
            return f"ipv{address.version}:" + (
                str(address) if address.version == 4 else f"[{address}]"
            )
    return None


def client_address() -> str:
    """The address of the call being served: the gateway's browser, else the transport peer."""
    return _client.get()


def _caller_key(principal: Principal, forwarded: str | None, peer: str) -> str:
    """Whose bucket a call is charged to: the principal, or an anonymous caller's address.

    The gateway's calls for a browser (logins) are charged to the browser's address.
    """
    if forwarded is not None:
        return f"client|{principal.community}|{forwarded}"
    if principal.kind is Kind.ANONYMOUS:
        return "anonymous|" + peer
    return f"{principal.kind}|{principal.community}|{principal.subject}"


@dataclass
class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates every call and checks the servicer's policy table before the handler.

    Refusals are raised as domain errors (Unauthenticated, PermissionDenied) for the errors
    interceptor outside this one to map and count.
    """

    policies: Mapping[str, Policy]  # full service name → its table
    verifier: Verifier
    limits: Mapping[str, Limits] = field(default_factory=dict)  # full service name → its table
    peer_communities: frozenset[str] = frozenset()
    # Where partners' scopes are kept; without one a partner holds no scopes.
    partners: PartnerDirectory | None = None
    buckets: Buckets = field(default_factory=Buckets)
    # Server streams (live boards) one caller may hold open at once in this replica.
    streams_per_caller: int = MAX_STREAMS_PER_CALLER
    _open_streams: dict[str, int] = field(default_factory=dict)
    exempt_services: frozenset[str] = frozenset(
        {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    )

    async def authenticate(self, context: grpc.aio.ServicerContext) -> Principal:
        """The caller: a bearer token wins over the transport's certificate."""
        token = _bearer_token(context.invocation_metadata() or ())
        if token is not None:
            return await self.verifier.principal(token)
        machine = peer_principal(context.auth_context(), self.peer_communities)
        if machine is None:
            return ANONYMOUS
        if machine.kind is Kind.PARTNER and self.partners is not None:
            scopes = await self.partners.scopes(machine.community, machine.subject)
            if scopes is None:
                raise PermissionDenied(f"partner {machine.subject} is not registered or revoked")
            return dataclasses.replace(machine, scopes=scopes)
        return machine

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        service, _, method = details.method.lstrip("/").partition("/")
        if handler is None or service in self.exempt_services:
            return handler
        policy = self.policies.get(service, {})
        limit = self.limits.get(service, {}).get(method)
        admit = functools.partial(self._admit, policy=policy, method=method, limit=limit)
        return rewrapped(
            handler,
            lambda inner: self._unary(inner, admit),
            lambda inner: self._stream(inner, admit),
        )

    async def _admit(
        self,
        context: grpc.aio.ServicerContext,
        *,
        policy: Policy,
        method: str,
        limit: RateLimit | None,
    ) -> tuple[Any, Any, str]:
        """Authenticate, authorise and charge the call; the context tokens and caller key."""
        principal = await self.authenticate(context)
        authorise(policy, method, principal)
        metadata = context.invocation_metadata() or ()
        forwarded = _forwarded_address(principal, metadata, self.peer_communities)
        peer = _peer_address(context)
        caller = _caller_key(principal, forwarded, peer)
        if limit is not None:
            self.buckets.charge(f"{method}|{caller}", limit)
        return acting_as(principal), _client.set(forwarded or peer), caller

    def _unary(self, inner: Any, admit: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token, client, _ = await admit(context)
            try:
                return await inner(request, context)
            finally:
                _client.reset(client)
                done_acting(token)

        return call

    def _stream(self, inner: Any, admit: Any) -> Any:
        # Not reset afterwards: a cancelled stream is closed from another context, and each
        # call is served in a task (a context) of its own that ends with it.
        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            _, _, caller = await admit(context)
            if self._open_streams.get(caller, 0) >= self.streams_per_caller:
                raise ResourceExhausted(
                    f"at most {self.streams_per_caller} open streams per caller", 5
                )
            self._open_streams[caller] = self._open_streams.get(caller, 0) + 1
            try:
                async for reply in replies(inner, request, context):
                    yield reply
            finally:
                left = self._open_streams.pop(caller) - 1
                if left:
                    self._open_streams[caller] = left

        return call
