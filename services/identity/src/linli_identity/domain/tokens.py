"""Sessions after login: a family of refresh tokens, each used once (ARCHITECTURE §5).

A login starts a family. Refreshing uses the token up and issues the next one of the family
with a fresh access token (roles read anew). A used token presented again means it was
copied: the whole family is revoked. Logout, a password change and a role change revoke
families too. Each token records the access token issued with it (its key id and jti), so a
retried request answers with the same pair.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli_identity.domain.login import STAFF_ROLES, LoginRefused
from linli_identity.domain.org import Role
from linli_kit.domain import Aggregate
from linli_kit.errors import InvalidArgument

ACCESS_LIFETIME = timedelta(minutes=10)
REFRESH_LIFETIME = timedelta(days=14)
_REFRESH = re.compile(
    r"lr1\.(?P<community>[a-z][a-z0-9-]{1,62})\.(?P<id>t[0-9a-f]{32})\.(?P<secret>[\w-]{20,80})"
)


class RefreshReused(LoginRefused):
    """A used or revoked refresh token came back: its family is revoked."""


@dataclass(frozen=True)
class PresentedRefreshToken:
    """The parts of a refresh token a client sent: community, token id and secret."""

    community_id: str
    token_id: str
    secret: str

    @classmethod
    def parse(cls, text: str) -> PresentedRefreshToken:
        """The parts of a refresh token, or InvalidArgument if it is not one we issue."""
        match = _REFRESH.fullmatch(text or "")
        if match is None:
            raise InvalidArgument("refresh_token is not one this service issued")
        return cls(match["community"], match["id"], match["secret"])


def refresh_token_text(community_id: str, token_id: str, secret: str) -> str:
    """A refresh token as a client holds it."""
    return f"lr1.{community_id}.{token_id}.{secret}"


@dataclass(kw_only=True, eq=False)
class RefreshToken(Aggregate):
    """One refresh token of a family, with the access token issued beside it."""

    community_id: str
    id: str
    family_id: str
    resident_id: str
    roles: tuple[str, ...]
    by_password: bool
    key_id: str
    access_jti: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @classmethod
    def start_family(
        cls,
        community_id: str,
        resident_id: str,
        roles: set[Role],
        by_password: bool,
        key_id: str,
        at: datetime,
    ) -> RefreshToken:
        """The first token of a new login; staff roles only after a password."""
        family_id = f"f{uuid.uuid4().hex}"
        return cls._new(community_id, family_id, resident_id, roles, by_password, key_id, at)

    @classmethod
    def _new(
        cls,
        community_id: str,
        family_id: str,
        resident_id: str,
        roles: set[Role],
        by_password: bool,
        key_id: str,
        at: datetime,
    ) -> RefreshToken:
        carried = roles if by_password else roles - STAFF_ROLES
        return cls(
            community_id=community_id,
            id=f"t{uuid.uuid4().hex}",
            family_id=family_id,
            resident_id=resident_id,
            roles=tuple(sorted(role.value for role in carried)),
            by_password=by_password,
            key_id=key_id,
            access_jti="",
            issued_at=at,
            expires_at=at + REFRESH_LIFETIME,
        )

    @property
    def access_expires_at(self) -> datetime:
        """When the access token issued with this one expires."""
        return self.issued_at + ACCESS_LIFETIME

    def rotate(self, roles: set[Role], key_id: str, at: datetime) -> RefreshToken:
        """Use this token up for the next of its family; RefreshReused if it was used before."""
        if self.used_at is not None:
            raise RefreshReused("this refresh token was already used; its session is ended")
        if self.revoked_at is not None:
            raise LoginRefused("this refresh token was revoked; log in again")
        if at >= self.expires_at:
            raise LoginRefused("this refresh token expired; log in again")
        self.used_at = at
        return self._new(
            self.community_id, self.family_id, self.resident_id, roles, self.by_password, key_id, at
        )
