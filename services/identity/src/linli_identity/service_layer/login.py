"""Logging in: one-time codes for residents, passwords for staff (ARCHITECTURE §5).

Refusals are audited in a unit of work of their own, since the refused work rolls back.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from linli_identity.domain.access import require_may_set_password
from linli_identity.domain.login import (
    CODE_DIGITS,
    CODE_QUOTA_WINDOW,
    FAILURE_WINDOW,
    FREE_FAILURES_PER_CLIENT,
    FREE_FAILURES_PER_PHONE,
    AuthEvent,
    AuthEventKind,
    LoginCode,
    LoginRefused,
    Refused,
    TooManyAttempts,
    check_code_quota,
    check_new_password,
    check_phone,
    check_staff,
    wait_after,
)
from linli_identity.domain.residents import Resident
from linli_identity.domain.tokens import RefreshToken, refresh_token_text
from linli_identity.service_layer.access import in_actors_community
from linli_identity.service_layer.commands import (
    LoginWithCode,
    LoginWithPassword,
    RequestLoginCode,
    SetPassword,
)
from linli_identity.service_layer.login_port import LoginPorts, TokenSigner
from linli_identity.service_layer.lookups import existing_community, existing_resident, found
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.errors import FailedPrecondition, Unavailable
from linli_kit.usecases import idempotent

C = TypeVar("C")
R = TypeVar("R")


@dataclass(frozen=True)
class Tokens:
    """An issued pair: the refresh token's record, the access token and the refresh token."""

    record: RefreshToken
    access_token: str
    refresh_token: str


def tokens_of(token: RefreshToken, signer: TokenSigner, access_token: str = "") -> Tokens:
    """The pair a refresh token record stands for (the access token signed again if not given)."""
    secret = signer.refresh_secret(token)
    return Tokens(
        token,
        access_token or signer.reissue(token),
        refresh_token_text(token.community_id, token.id, secret),
    )


def issue(uow: IdentityUnitOfWork, token: RefreshToken, signer: TokenSigner) -> Tokens:
    """Sign the access token of a new refresh token and store the refresh token."""
    access_token, token.access_jti = signer.access_token(token)
    uow.refresh_tokens.add(token)
    return tokens_of(token, signer, access_token)


def _token_reference(tokens: Tokens) -> str:
    return f"{tokens.record.community_id}/{tokens.record.id}"


def replayable(
    work: Callable[[C, IdentityUnitOfWork, LoginPorts], Tokens],
) -> Callable[[C, IdentityUnitOfWork, LoginPorts], Tokens]:
    """`work` made idempotent and audited: a retry answers with the same pair of tokens."""

    @functools.wraps(work)
    def use_case(cmd: C, uow: IdentityUnitOfWork, ports: LoginPorts) -> Tokens:
        def reload(uow: IdentityUnitOfWork, cmd: Any, reference: str) -> Tokens:
            community_id, _, token_id = reference.partition("/")
            token = found(uow.refresh_tokens.get(community_id, token_id), "refresh token")
            return tokens_of(token, ports.signer)

        once = idempotent(reload, _token_reference)(work)
        return audited(once)(cmd, uow, ports)

    return use_case


def audited(work: Callable[..., R]) -> Callable[..., R]:
    """Run `work`; on a refusal, store its audit record (and revoke what it names), then raise."""

    @functools.wraps(work)
    def use_case(cmd: Any, uow: IdentityUnitOfWork, *args: Any) -> R:
        try:
            return work(cmd, uow, *args)
        except Refused as refused:
            with uow:
                uow.auth_events.add(refused.event)
                if refused.revoke_family:
                    uow.refresh_tokens.revoke_family(
                        refused.event.community_id, refused.revoke_family, refused.event.at
                    )
                uow.commit()
            raise refused.error from None

    return use_case


def _check_not_locked(
    uow: IdentityUnitOfWork, community_id: str, phone: str, client: str, ports: LoginPorts
) -> None:
    """Refuse (audited) while the phone or the client address has failed too often lately."""
    now = ports.clock()
    since = now - FAILURE_WINDOW
    wait = max(
        wait_after(
            uow.auth_events.failures_since(community_id, since, phone=phone),
            FREE_FAILURES_PER_PHONE,
            now,
        ),
        wait_after(
            uow.auth_events.failures_since(community_id, since, client=client),
            FREE_FAILURES_PER_CLIENT,
            now,
        ),
    )
    if wait:
        error = TooManyAttempts("too many failed logins for this phone or address", wait)
        event = AuthEvent.record(
            community_id,
            AuthEventKind.LOCKED_OUT,
            now,
            phone=phone,
            client=client,
            detail=str(error),
        )
        raise Refused(error, event)


def _failed(cmd: LoginWithCode | LoginWithPassword, phone: str, at: Any, why: str) -> Refused:
    event = AuthEvent.record(
        cmd.community_id, AuthEventKind.LOGIN_FAILED, at, phone=phone, client=cmd.client, detail=why
    )
    return Refused(LoginRefused("the phone number or the code or password is wrong"), event)


def _logged_in(
    uow: IdentityUnitOfWork, resident: Resident, client: str, by_password: bool, ports: LoginPorts
) -> Tokens:
    now = ports.clock()
    token = RefreshToken.start_family(
        resident.community_id,
        resident.id,
        resident.roles,
        by_password,
        ports.signer.current_key_id,
        now,
    )
    uow.auth_events.add(
        AuthEvent.record(
            resident.community_id,
            AuthEventKind.LOGIN_SUCCEEDED,
            now,
            resident_id=resident.id,
            phone=resident.phone,
            client=client,
            detail="by password" if by_password else "by code",
        )
    )
    return issue(uow, token, ports.signer)


@audited
@idempotent(lambda uow, cmd, ref: found(uow.login_codes.get(cmd.community_id, ref), "login code"))
def request_login_code(
    cmd: RequestLoginCode, uow: IdentityUnitOfWork, ports: LoginPorts
) -> LoginCode:
    """Send a code to a registered phone; for an unknown phone store one and send nothing."""
    existing_community(uow, cmd.community_id)
    phone = check_phone(cmd.phone)
    if not ports.signer.current_key_id:
        raise Unavailable("login is not configured: no signing key")
    _check_not_locked(uow, cmd.community_id, phone, cmd.client, ports)
    now = ports.clock()
    sent = uow.login_codes.sent_since(cmd.community_id, phone, now - CODE_QUOTA_WINDOW)
    try:
        check_code_quota(sent, now)
    except TooManyAttempts as exhausted:
        event = AuthEvent.record(
            cmd.community_id,
            AuthEventKind.LOCKED_OUT,
            now,
            phone=phone,
            client=cmd.client,
            detail=str(exhausted),
        )
        raise Refused(exhausted, event) from None
    resident = uow.residents.by_phone(cmd.community_id, phone)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    login_code = LoginCode.issue(
        cmd.community_id, phone, resident.id if resident else "", code, now
    )
    uow.login_codes.add(login_code)
    uow.auth_events.add(
        AuthEvent.record(
            cmd.community_id,
            AuthEventKind.CODE_REQUESTED,
            now,
            resident_id=login_code.resident_id,
            phone=phone,
            client=cmd.client,
            detail="" if resident else "no resident has this phone: nothing sent",
        )
    )
    if resident is not None:
        ports.sms.send_login_code(cmd.community_id, phone, code)
    return login_code


@replayable
def login_with_code(cmd: LoginWithCode, uow: IdentityUnitOfWork, ports: LoginPorts) -> Tokens:
    """Use up the latest code sent to the phone and start a session (without staff roles)."""
    existing_community(uow, cmd.community_id)
    phone = check_phone(cmd.phone)
    _check_not_locked(uow, cmd.community_id, phone, cmd.client, ports)
    now = ports.clock()
    code = uow.login_codes.latest(cmd.community_id, phone)
    try:
        if code is None:
            raise LoginRefused("no code was sent to this phone")
        resident_id = code.redeem(cmd.code.value, now)
    except LoginRefused as refused:
        raise _failed(cmd, phone, now, f"code: {refused}") from None
    uow.login_codes.save_use(code)
    resident = existing_resident(uow, cmd.community_id, resident_id)
    return _logged_in(uow, resident, cmd.client, False, ports)


@replayable
def login_with_password(
    cmd: LoginWithPassword, uow: IdentityUnitOfWork, ports: LoginPorts
) -> Tokens:
    """Check a staff member's password (as slowly for an unknown phone) and start a session."""
    existing_community(uow, cmd.community_id)
    phone = check_phone(cmd.phone)
    _check_not_locked(uow, cmd.community_id, phone, cmd.client, ports)
    now = ports.clock()
    resident = uow.residents.by_phone(cmd.community_id, phone)
    stored = uow.passwords.get(cmd.community_id, resident.id) if resident else None
    if not ports.passwords.verify(stored, cmd.password.value) or resident is None:
        raise _failed(cmd, phone, now, "password: unknown phone, none set, or wrong")
    try:
        check_staff(resident.roles)
    except FailedPrecondition as not_staff:
        raise _failed(cmd, phone, now, f"password: {not_staff}") from None
    return _logged_in(uow, resident, cmd.client, True, ports)


@in_actors_community
@idempotent(lambda uow, cmd, ref: existing_resident(uow, cmd.community_id, ref))
def set_password(cmd: SetPassword, uow: IdentityUnitOfWork, ports: LoginPorts) -> Resident:
    """Set a staff member's password (they, or who could grant their roles); end their sessions."""
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    require_may_set_password(cmd.actor, resident)
    check_staff(resident.roles)
    check_new_password(cmd.password.value)
    now = ports.clock()
    uow.passwords.put(cmd.community_id, resident.id, ports.passwords.hash(cmd.password.value), now)
    ended = uow.refresh_tokens.revoke_resident(cmd.community_id, resident.id, now)
    uow.auth_events.add(
        AuthEvent.record(
            cmd.community_id,
            AuthEventKind.PASSWORD_SET,
            now,
            resident_id=resident.id,
            detail=f"{ended} refresh tokens revoked",
        )
    )
    return resident
