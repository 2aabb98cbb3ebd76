"""IdentityService RPCs of login, sessions, the public keys and the login audit (§5)."""

from __future__ import annotations

import asyncio

import grpc
from linli.identity.v1 import identity_service_pb2 as pb

from linli_identity.domain import names
from linli_identity.domain.login import STAFF_ROLES as PASSWORD_ROLES
from linli_identity.entrypoints.grpc_base import ServicerBase
from linli_identity.entrypoints.messages import auth_event_message, tokens_message
from linli_identity.service_layer import login, sessions
from linli_identity.service_layer.commands import (
    LoginWithCode,
    LoginWithPassword,
    Logout,
    RefreshTokens,
    RequestLoginCode,
    SetPassword,
)
from linli_identity.service_layer.login_port import Secret
from linli_kit import auth, ratelimits
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import Role, current_principal

# Who may call each RPC (deny by default): logging in needs no credentials, of course.
POLICY: auth.Policy = {
    "RequestLoginCode": auth.public(),
    "LoginWithCode": auth.public(),
    "LoginWithPassword": auth.public(),
    "RefreshToken": auth.public(),
    "Logout": auth.public(),
    "GetJwks": auth.public(),
    "SetPassword": auth.persons(*PASSWORD_ROLES),
    "ListAuthEvents": auth.persons(Role.SOCIAL_WORKER, Role.SRE),
}
# Per caller (an anonymous one by its address, the gateway's calls by the browser's address it
# names), besides the lockout per phone and address.
LIMITS: ratelimits.Limits = {
    "RequestLoginCode": ratelimits.per_minute(10),
    "LoginWithCode": ratelimits.per_minute(10),
    "LoginWithPassword": ratelimits.per_minute(10),
    "RefreshToken": ratelimits.per_minute(10),
    "Logout": ratelimits.per_minute(10),
}


class LoginRpcs(ServicerBase):
    """Login by code or password, refresh, logout, the JWKS and the audit list over gRPC."""

    async def RequestLoginCode(
        self, request: pb.RequestLoginCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.RequestLoginCodeResponse:
        """Send a one-time code to a phone."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        client = auth.client_address()
        command = RequestLoginCode(ids["community"], request.phone, client, request.request_id)
        code = await asyncio.to_thread(
            login.request_login_code, command, self.uow_factory(), self.login
        )
        reply = pb.RequestLoginCodeResponse()
        reply.expire_time.FromDatetime(code.expires_at)
        return reply

    async def LoginWithCode(
        self, request: pb.LoginWithCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoginWithCodeResponse:
        """Log a resident in with a code."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        command = LoginWithCode(
            ids["community"],
            request.phone,
            Secret(request.code, f"{request.request_id}:{request.phone}"),
            auth.client_address(),
            request.request_id,
        )
        tokens = await asyncio.to_thread(
            login.login_with_code, command, self.uow_factory(), self.login
        )
        return pb.LoginWithCodeResponse(tokens=tokens_message(tokens))

    async def LoginWithPassword(
        self, request: pb.LoginWithPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoginWithPasswordResponse:
        """Log a staff member in with their password."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        command = LoginWithPassword(
            ids["community"],
            request.phone,
            Secret(request.password, f"{request.request_id}:{request.phone}"),
            auth.client_address(),
            request.request_id,
        )
        tokens = await asyncio.to_thread(
            login.login_with_password, command, self.uow_factory(), self.login
        )
        return pb.LoginWithPasswordResponse(tokens=tokens_message(tokens))

    async def SetPassword(
        self, request: pb.SetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetPasswordResponse:
        """Set a staff member's password."""
        ids = names.RESIDENT.parse(request.resident, "resident")
        command = SetPassword(
            ids["community"],
            ids["resident"],
            Secret(request.password, f"{request.request_id}:{request.resident}"),
            request.request_id,
            actor=current_principal(),
        )
        await asyncio.to_thread(login.set_password, command, self.uow_factory(), self.login)
        return pb.SetPasswordResponse(resident=request.resident)

    async def RefreshToken(
        self, request: pb.RefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshTokenResponse:
        """Trade a refresh token for the next pair."""
        command = RefreshTokens(
            Secret(request.refresh_token, request.request_id),
            auth.client_address(),
            request.request_id,
        )
        tokens = await asyncio.to_thread(sessions.refresh, command, self.uow_factory(), self.login)
        return pb.RefreshTokenResponse(tokens=tokens_message(tokens))

    async def Logout(
        self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogoutResponse:
        """End the session a refresh token belongs to."""
        command = Logout(
            Secret(request.refresh_token, request.request_id),
            auth.client_address(),
            request.request_id,
        )
        token = await asyncio.to_thread(sessions.logout, command, self.uow_factory(), self.login)
        return pb.LogoutResponse(
            resident=names.RESIDENT.format(community=token.community_id, resident=token.resident_id)
        )

    async def GetJwks(
        self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetJwksResponse:
        """The public keys access tokens are signed with."""
        keys = sessions.jwks(self.login.signer)
        fields = ("kty", "crv", "x", "kid", "alg", "use")
        return pb.GetJwksResponse(keys=[pb.Jwk(**{f: key[f] for f in fields}) for key in keys])

    async def ListAuthEvents(
        self, request: pb.ListAuthEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuthEventsResponse:
        """A page of a community's login audit records, newest first."""
        ids = names.COMMUNITY.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        page, more = await asyncio.to_thread(
            sessions.list_auth_events,
            ids["community"],
            offset,
            limit,
            self.uow_factory(),
            actor=current_principal(),
        )
        return pb.ListAuthEventsResponse(
            events=[auth_event_message(e) for e in page],
            next_page_token=next_page_token(offset, limit, more),
        )
