"""What logging in needs from the outside world: SMS, password hashing and token signing."""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass, field
from typing import Any

from linli_identity.domain.tokens import RefreshToken
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import Unavailable


class SmsSender(abc.ABC):
    """Sends a text message to a phone."""

    @abc.abstractmethod
    def send_login_code(self, community_id: str, phone: str, code: str) -> None:
        """Send a one-time login code."""


class PasswordHasher(abc.ABC):
    """Hashes and checks passwords (argon2id in production)."""

    @abc.abstractmethod
    def hash(self, password: str) -> str:
        """A salted, slow hash of a password."""

    @abc.abstractmethod
    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password is the hashed one; as slow for no hash as for a wrong one."""


class TokenSigner(abc.ABC):
    """Signs access tokens with the deployment's current key and derives refresh secrets."""

    @property
    @abc.abstractmethod
    def current_key_id(self) -> str:
        """The id of the key new tokens are signed with (Unavailable when none is set)."""

    @abc.abstractmethod
    def access_token(self, token: RefreshToken) -> tuple[str, str]:
        """A new access token for the person of a refresh token, and its jti."""

    @abc.abstractmethod
    def reissue(self, token: RefreshToken) -> str:
        """The access token issued with a refresh token, signed again (the same bytes)."""

    @abc.abstractmethod
    def refresh_secret(self, token: RefreshToken) -> str:
        """The secret part of a refresh token, derived from its id under its key."""

    @abc.abstractmethod
    def jwks(self) -> list[dict[str, Any]]:
        """The public keys of the ring as JWKs, current first."""


class NoSigningKeys(TokenSigner):
    """The signer of a deployment without signing keys: every login answers Unavailable."""

    @property
    def current_key_id(self) -> str:
        """Never: there are no keys."""
        raise Unavailable("login is not configured: set LINLI_IDENTITY_SIGNING_KEYS")

    def access_token(self, token: RefreshToken) -> tuple[str, str]:
        """Never: there are no keys."""
        raise Unavailable("login is not configured: set LINLI_IDENTITY_SIGNING_KEYS")

    def reissue(self, token: RefreshToken) -> str:
        """Never: there are no keys."""
        raise Unavailable("login is not configured: set LINLI_IDENTITY_SIGNING_KEYS")

    def refresh_secret(self, token: RefreshToken) -> str:
        """Never: there are no keys."""
        raise Unavailable("login is not configured: set LINLI_IDENTITY_SIGNING_KEYS")

    def jwks(self) -> list[dict[str, Any]]:
        """No keys to publish."""
        return []


class Secret:
    """A password or code in a command: never printed, fingerprinted by a salted scrypt.

    The request log keeps a digest of every command's arguments; for a secret that digest is
    scrypt under the request id and phone, so the log holds no fast hash of a password.
    """

    def __init__(self, value: str, salt: str) -> None:
        self.value = value
        self._salt = salt
        self._digest = ""

    def __str__(self) -> str:
        if not self._digest:
            self._digest = hashlib.scrypt(
                self.value.encode(), salt=self._salt.encode(), n=2**14, r=8, p=1
            ).hex()
        return self._digest

    def __repr__(self) -> str:
        return "Secret(***)"

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


@dataclass(frozen=True)
class LoginPorts:
    """The outside world of the login use cases, wired in bootstrap."""

    sms: SmsSender
    passwords: PasswordHasher
    signer: TokenSigner
    clock: Clock = field(default=utc_now)
