"""Sessions after login: refresh, logout, revocation, the audit list and the public keys."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from linli_identity.domain.access import require_staff
from linli_identity.domain.login import AuthEvent, AuthEventKind, LoginRefused, Refused
from linli_identity.domain.org import Role
from linli_identity.domain.residents import Resident
from linli_identity.domain.tokens import PresentedRefreshToken, RefreshReused, RefreshToken
from linli_identity.service_layer.commands import Logout, RefreshTokens
from linli_identity.service_layer.login import Tokens, audited, issue, replayable
from linli_identity.service_layer.login_port import LoginPorts, TokenSigner
from linli_identity.service_layer.lookups import existing_community, existing_resident, found
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent


def _presented(
    uow: IdentityUnitOfWork, text: str, client: str, signer: TokenSigner, clock: Clock
) -> tuple[PresentedRefreshToken, RefreshToken]:
    """The stored token a client's refresh token names, or LoginRefused (audited)."""
    presented = PresentedRefreshToken.parse(text)
    token = uow.refresh_tokens.get(presented.community_id, presented.token_id)
    try:
        valid = token is not None and hmac.compare_digest(
            signer.refresh_secret(token), presented.secret
        )
    except LoginRefused:  # its signing key has left the ring
        valid = False
    if token is None or not valid:
        event = AuthEvent.record(
            presented.community_id,
            AuthEventKind.REFRESH_REFUSED,
            clock(),
            resident_id=token.resident_id if token else "",
            client=client,
            detail="unknown refresh token or wrong secret",
        )
        raise Refused(LoginRefused("the refresh token is not valid; log in again"), event)
    return presented, token


@replayable
def refresh(cmd: RefreshTokens, uow: IdentityUnitOfWork, ports: LoginPorts) -> Tokens:
    """Use a refresh token up for the next pair; a reused one ends its whole family."""
    _, token = _presented(uow, cmd.refresh_token.value, cmd.client, ports.signer, ports.clock)
    now = ports.clock()
    resident = existing_resident(uow, token.community_id, token.resident_id)
    try:
        following = token.rotate(resident.roles, ports.signer.current_key_id, now)
    except RefreshReused as reused:
        event = AuthEvent.record(
            token.community_id,
            AuthEventKind.REFRESH_REUSED,
            now,
            resident_id=token.resident_id,
            client=cmd.client,
            detail=f"family {token.family_id} revoked",
        )
        raise Refused(reused, event, revoke_family=token.family_id) from None
    except LoginRefused as refused:
        event = AuthEvent.record(
            token.community_id,
            AuthEventKind.REFRESH_REFUSED,
            now,
            resident_id=token.resident_id,
            client=cmd.client,
            detail=str(refused),
        )
        raise Refused(refused, event) from None
    uow.refresh_tokens.save_use(token)
    return issue(uow, following, ports.signer)


def _ended(uow: IdentityUnitOfWork, cmd: Logout, reference: str) -> RefreshToken:
    community_id, _, token_id = reference.partition("/")
    return found(uow.refresh_tokens.get(community_id, token_id), "refresh token")


@audited
@idempotent(_ended, lambda token: f"{token.community_id}/{token.id}")
def logout(cmd: Logout, uow: IdentityUnitOfWork, ports: LoginPorts) -> RefreshToken:
    """End the family of a refresh token (used or not)."""
    _, token = _presented(uow, cmd.refresh_token.value, cmd.client, ports.signer, ports.clock)
    now = ports.clock()
    ended = uow.refresh_tokens.revoke_family(token.community_id, token.family_id, now)
    uow.auth_events.add(
        AuthEvent.record(
            token.community_id,
            AuthEventKind.LOGGED_OUT,
            now,
            resident_id=token.resident_id,
            client=cmd.client,
            detail=f"{ended} refresh tokens revoked",
        )
    )
    return token


def revoke_sessions(uow: IdentityUnitOfWork, resident: Resident, why: str, at: datetime) -> None:
    """End every session of a person whose roles changed (inside the caller's unit of work)."""
    ended = uow.refresh_tokens.revoke_resident(resident.community_id, resident.id, at)
    uow.auth_events.add(
        AuthEvent.record(
            resident.community_id,
            AuthEventKind.TOKENS_REVOKED,
            at,
            resident_id=resident.id,
            detail=f"{why}: {ended} refresh tokens revoked",
        )
    )


def list_auth_events(
    community_id: str, offset: int, limit: int, uow: IdentityUnitOfWork, *, actor: Principal
) -> tuple[list[AuthEvent], bool]:
    """A page of a community's login audit, newest first, and whether more follow (staff, sre)."""
    require_staff(actor, community_id, Role.SOCIAL_WORKER, Role.SRE)
    with uow:
        existing_community(uow, community_id)
        events = uow.auth_events.list(community_id, offset, limit + 1)
        return events[:limit], len(events) > limit


def jwks(signer: TokenSigner) -> list[dict[str, Any]]:
    """The public keys access tokens are checked with."""
    return signer.jwks()


def development_token(
    community_id: str, phone: str, uow: IdentityUnitOfWork, ports: LoginPorts
) -> str:
    """An access token for a person by phone, without a session (the CLI, for `make run`)."""
    with uow:
        resident = found(
            uow.residents.by_phone(community_id, phone), f"resident with phone {phone}"
        )
        now = ports.clock()
        token = RefreshToken.start_family(
            community_id, resident.id, resident.roles, True, ports.signer.current_key_id, now
        )
        access_token, _ = ports.signer.access_token(token)
        uow.auth_events.add(
            AuthEvent.record(
                community_id,
                AuthEventKind.DEVELOPMENT_TOKEN,
                now,
                resident_id=resident.id,
                phone=phone,
                detail="printed by linli-identity token",
            )
        )
        uow.commit()
        return access_token
