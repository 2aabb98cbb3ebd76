"""The development SMS sender and the argon2id password hasher."""

from __future__ import annotations

import logging

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

from linli_identity.service_layer.login_port import PasswordHasher, SmsSender

log = logging.getLogger(__name__)


class LoggingSmsSender(SmsSender):
    """Writes login codes to the log instead of sending them: for development only."""

    def send_login_code(self, community_id: str, phone: str, code: str) -> None:
        """Log the code (a development stack has no SMS gateway)."""
        log.warning(
            "DEVELOPMENT SMS to %s (%s): your Linli login code is %s", phone, community_id, code
        )


class Argon2PasswordHasher(PasswordHasher):
    """argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters."""

    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._hasher = hasher or Argon2Hasher()
        self._dummy = self._hasher.hash("a password nobody has")

    def hash(self, password: str) -> str:
        """A salted argon2id hash."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches; for no hash a dummy is checked, to take as long."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False
