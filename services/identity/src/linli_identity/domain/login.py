"""Logging in (ARCHITECTURE §5): residents by a one-time code, staff by password.

A code is 6 digits, works for 5 minutes and once; only its salted hash is stored. After 5
failed logins for a phone within 15 minutes (20 for one client address, which a community
centre's residents may share) each further attempt waits: 30 s, then doubling, at most
15 minutes after the last failure. At most 5 codes are sent to a phone in an hour. Every
login, failure, lockout and revocation is an audit record. Staff roles come only with a
password login: a session started by a code carries the person's other roles.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from linli_identity.domain.org import Role
from linli_kit.domain import Aggregate
from linli_kit.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODES_PER_HOUR = 5
CODE_QUOTA_WINDOW = timedelta(hours=1)
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES_PER_PHONE = 5
FREE_FAILURES_PER_CLIENT = 20
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)
MIN_PASSWORD = 12
MAX_PASSWORD = 128
# Roles whose holders may log in with a password (ARCHITECTURE §5 "staff").
STAFF_ROLES = frozenset(
    {
        Role.GRID_HEAD,
        Role.BUILDING_LIAISON,
        Role.SOCIAL_WORKER,
        Role.COMMITTEE_MEMBER,
        Role.SRE,
    }
)
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_CODE = re.compile(rf"^\d{{{CODE_DIGITS}}}$")


class LoginRefused(Unauthenticated):
    """The credentials do not prove who the caller says they are."""


class TooManyAttempts(ResourceExhausted):
    """Too many attempts lately; the caller may retry after a while."""

    def __init__(self, what: str, retry_after: timedelta) -> None:
        super().__init__(what, math.ceil(retry_after.total_seconds()))


class AuthEventKind(StrEnum):
    """What an audit record is about."""

    CODE_REQUESTED = "login_code_requested"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "login_locked_out"
    REFRESH_REUSED = "refresh_reused"
    REFRESH_REFUSED = "refresh_refused"
    LOGGED_OUT = "logged_out"
    TOKENS_REVOKED = "tokens_revoked"
    PASSWORD_SET = "password_set"
    DEVELOPMENT_TOKEN = "development_token"


@dataclass(frozen=True, kw_only=True)
class AuthEvent:
    """One audit record of who logged in, failed, was locked out or lost their tokens."""

    community_id: str
    id: str
    kind: AuthEventKind
    at: datetime
    resident_id: str = ""
    phone: str = ""
    client: str = ""
    detail: str = ""

    @classmethod
    def record(
        cls,
        community_id: str,
        kind: AuthEventKind,
        at: datetime,
        *,
        resident_id: str = "",
        phone: str = "",
        client: str = "",
        detail: str = "",
    ) -> AuthEvent:
        """A new audit record."""
        return cls(
            community_id=community_id,
            id=f"e{uuid.uuid4().hex}",
            kind=kind,
            at=at,
            resident_id=resident_id,
            phone=phone,
            client=client[:100],
            detail=detail[:200],
        )


class Refused(DomainError):
    """A refusal whose audit record (and any revocation) must outlive the rolled-back work."""

    def __init__(self, error: DomainError, event: AuthEvent, revoke_family: str = "") -> None:
        super().__init__(str(error))
        self.error, self.event, self.revoke_family = error, event, revoke_family


def check_phone(phone: str) -> str:
    """A mainland mobile number without spaces or dashes, or InvalidArgument."""
    phone = re.sub(r"[\s-]", "", phone or "")
    if not _PHONE.match(phone):
        raise InvalidArgument("phone must be an 11-digit mobile number starting with 1")
    return phone


def masked(phone: str) -> str:
    """A phone number shown only by its last four digits, for the audit list."""
    return f"*******{phone[-4:]}" if len(phone) >= 4 else "*" * len(phone)


def check_new_password(password: str) -> str:
    """A password long enough to resist guessing, or InvalidArgument."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def check_staff(roles: set[Role]) -> None:
    """Only holders of a staff role log in with a password."""
    if roles.isdisjoint(STAFF_ROLES):
        raise FailedPrecondition(
            "only staff (a grid head, liaison, social worker, committee member or sre) have "
            "a password; residents log in by code"
        )


def _code_hash(code_id: str, code: str) -> str:
    return hashlib.sha256(f"{code_id}:{code}".encode()).hexdigest()


@dataclass(kw_only=True, eq=False)
class LoginCode(Aggregate):
    """A one-time code sent to a phone; stored as a hash salted with its own id."""

    community_id: str
    id: str
    phone: str
    resident_id: str  # empty when the phone matched nobody (nothing was sent)
    code_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls, community_id: str, phone: str, resident_id: str, code: str, at: datetime
    ) -> LoginCode:
        """A new code for a phone, valid for CODE_LIFETIME."""
        code_id = f"k{uuid.uuid4().hex}"
        return cls(
            community_id=community_id,
            id=code_id,
            phone=phone,
            resident_id=resident_id,
            code_hash=_code_hash(code_id, code),
            created_at=at,
            expires_at=at + CODE_LIFETIME,
        )

    def matches(self, code: str) -> bool:
        """Whether the code is this one's (used or not)."""
        return hmac.compare_digest(self.code_hash, _code_hash(self.id, code))

    def redeem(self, code: str, at: datetime) -> str:
        """Use the code up and return whose it is; LoginRefused if wrong, used or expired."""
        if (
            not _CODE.match(code)
            or not self.resident_id
            or self.used_at is not None
            or at >= self.expires_at
            or not self.matches(code)
        ):
            raise LoginRefused("the phone number or the code is wrong, used or expired")
        self.used_at = at
        return self.resident_id


def check_code_quota(sent: Sequence[datetime], now: datetime) -> None:
    """At most CODES_PER_HOUR codes to one phone in any hour, or TooManyAttempts."""
    recent = sorted(at for at in sent if at > now - CODE_QUOTA_WINDOW)
    if len(recent) >= CODES_PER_HOUR:
        wait = recent[-CODES_PER_HOUR] + CODE_QUOTA_WINDOW - now
        raise TooManyAttempts("too many login codes were sent to this phone", wait)


def wait_after(failures: Sequence[datetime], free: int, now: datetime) -> timedelta:
    """How long the next attempt must wait after these failures (zero when it need not).

    Failures older than FAILURE_WINDOW are forgotten; beyond `free` of them each doubles the
    wait from FIRST_WAIT, counted from the latest failure, up to LONGEST_WAIT.
    """
    recent = [at for at in failures if at > now - FAILURE_WINDOW]
    if len(recent) < free:
        return timedelta(0)
    wait = min(FIRST_WAIT * 2 ** min(len(recent) - free, 20), LONGEST_WAIT)
    return max(timedelta(0), max(recent) + wait - now)
