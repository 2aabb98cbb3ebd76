"""The person's session: their tokens in a signed HttpOnly SameSite=Lax cookie, kept fresh.

Starlette's SessionMiddleware signs the cookie with itsdangerous; it holds the access token
(≤ 15 minutes), the single-use refresh token and the CSRF token. An access token about to
expire is exchanged through identity's RefreshToken; concurrent requests of one browser share
one exchange (a refresh token works once).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from fastapi import Depends, Request
from linli.identity.v1 import identity_service_pb2 as idn

from linli_gateway.adapters.services import Services, browser_metadata
from linli_gateway.entrypoints.csrf import csrf_token
from linli_gateway.entrypoints.problems import NotSignedIn
from linli_kit import auth


@dataclass(frozen=True)
class Person:
    """Who is signed in, and the token every call on their behalf carries."""

    resident: str  # communities/{c}/residents/{r}
    community: str
    roles: frozenset[str]
    token: str

    @property
    def metadata(self) -> auth.Metadata:
        """gRPC metadata carrying the person's access token."""
        return auth.bearer(self.token)

    @property
    def resident_id(self) -> str:
        """The resident's id (the last part of their name)."""
        return self.resident.rpartition("/")[2]

    def has(self, *roles: str) -> bool:
        """Whether the person holds any of these roles."""
        return bool(self.roles.intersection(roles))


def services(request: Request) -> Services:
    """The gRPC clients (a FastAPI dependency)."""
    found: Services = request.app.state.services
    return found


def browser(request: Request) -> auth.Metadata:
    """Metadata naming the browser's address to identity: the TCP peer, or the ingress's word.

    With `trust_forwarded_for`, the last X-Forwarded-For entry (the one the ingress appended).
    """
    address = request.client.host if request.client else None
    if request.app.state.settings.trust_forwarded_for:
        forwarded = request.headers.getlist("x-forwarded-for")
        if forwarded:
            address = forwarded[-1].rpartition(",")[2].strip()
    return browser_metadata(address)


def store_tokens(request: Request, tokens: idn.TokenPair) -> None:
    """Keep a fresh token pair in the session (at login, a new CSRF token too)."""
    request.session.update(
        access=tokens.access_token,
        access_exp=tokens.access_expire_time.seconds,
        refresh=tokens.refresh_token,
        resident=tokens.resident,
        roles=list(tokens.roles),
    )


def start_session(request: Request, tokens: idn.TokenPair) -> None:
    """A new session for a person who just logged in (nothing of the one before is kept)."""
    locale = request.session.get("lang")
    request.session.clear()
    if locale:
        request.session["lang"] = locale
    store_tokens(request, tokens)
    csrf_token(request)


class Refresher:
    """One RefreshToken call per refresh token at a time; its answer is shared for a while."""

    def __init__(self, keep_seconds: float = 30.0) -> None:
        self.keep_seconds = keep_seconds
        self._pending: dict[str, asyncio.Future[idn.TokenPair]] = {}
        self._done: dict[str, tuple[float, idn.TokenPair]] = {}

    async def refresh(
        self, services: Services, refresh_token: str, metadata: auth.Metadata = ()
    ) -> idn.TokenPair:
        """The next token pair (UNAUTHENTICATED as grpc.aio.AioRpcError when it is dead)."""
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        now = time.monotonic()
        self._done = {k: v for k, v in self._done.items() if v[0] > now}
        if key in self._done:
            return self._done[key][1]
        if key in self._pending:
            return await asyncio.shield(self._pending[key])
        future: asyncio.Future[idn.TokenPair] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            request = idn.RefreshTokenRequest(
                refresh_token=refresh_token, request_id=str(uuid.uuid4())
            )
            reply = await services.identity.RefreshToken(
                request, metadata=metadata, timeout=services.timeout
            )
            self._done[key] = (now + self.keep_seconds, reply.tokens)
            future.set_result(reply.tokens)
            return reply.tokens
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._pending[key]


async def signed_in(request: Request) -> Person:
    """The signed-in person (a FastAPI dependency); NotSignedIn when there is none."""
    session: dict[str, Any] = request.session
    if "access" not in session:
        raise NotSignedIn()
    margin = request.app.state.settings.refresh_margin_seconds
    if session["access_exp"] - time.time() < margin:
        try:
            tokens = await request.app.state.refresher.refresh(
                services(request), session["refresh"], browser(request)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.INVALID_ARGUMENT,
            ):
                raise
            session.clear()
            raise NotSignedIn() from None
        store_tokens(request, tokens)
    resident = str(session["resident"])
    community = resident.split("/")[1] if resident.count("/") == 3 else ""
    return Person(resident, community, frozenset(session.get("roles", ())), str(session["access"]))


async def maybe_signed_in(request: Request) -> Person | None:
    """The signed-in person, or None (public pages that greet a person who is)."""
    try:
        return await signed_in(request)
    except NotSignedIn:
        return None


# Route parameters: `svc: Svc` (the gRPC clients), `person: SignedIn` (401 / sign-in page
# without a session), `person: MaybeSignedIn` (None without one).
Svc = Annotated[Services, Depends(services)]
SignedIn = Annotated[Person, Depends(signed_in)]
MaybeSignedIn = Annotated[Person | None, Depends(maybe_signed_in)]
