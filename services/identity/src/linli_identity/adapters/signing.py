"""Access tokens signed with the deployment's Ed25519 keyring, and refresh-token secrets.

The keyring is like the template keys: new tokens use the current key; older keys stay in
the ring (and in the published JWKS) until the operator removes them, and tokens signed by
a removed key stop verifying. A refresh token's secret is an HMAC of its id under a key
derived from the signing key it was issued with, so the database holds no usable secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from linli_identity.domain import names
from linli_identity.domain.login import LoginRefused
from linli_identity.domain.tokens import ACCESS_LIFETIME, RefreshToken
from linli_identity.service_layer.login_port import TokenSigner
from linli_kit import auth
from linli_kit.errors import InvalidArgument, Unavailable

SEED_BYTES = 32


class SigningKeyring(TokenSigner):
    """The deployment's signing keys by key id; new tokens use the current one."""

    def __init__(self, seeds: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in seeds:
            raise InvalidArgument(f"current signing key {current_key_id!r} is not in the ring")
        for key_id, seed in seeds.items():
            if len(seed) != SEED_BYTES:
                raise InvalidArgument(f"signing key {key_id!r} must be {SEED_BYTES} bytes")
        self._seeds = dict(seeds)
        self._keys = {
            key_id: auth.SigningKey(key_id, Ed25519PrivateKey.from_private_bytes(seed))
            for key_id, seed in seeds.items()
        }
        self._current = current_key_id

    @property
    def current_key_id(self) -> str:
        """The id of the key new tokens are signed with."""
        return self._current

    def _key(self, key_id: str) -> auth.SigningKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise Unavailable(f"signing key {key_id!r} has left the ring") from None

    def access_token(self, token: RefreshToken) -> tuple[str, str]:
        """A new access token (linli_kit.auth.issue_access_token) and its jti."""
        jti = uuid.uuid4().hex
        return self._signed(token, jti), jti

    def reissue(self, token: RefreshToken) -> str:
        """The access token issued with a refresh token, signed again: the very same token."""
        return self._signed(token, token.access_jti)

    def _signed(self, token: RefreshToken, jti: str) -> str:
        return auth.issue_access_token(
            self._key(token.key_id),
            subject=names.RESIDENT.format(community=token.community_id, resident=token.resident_id),
            community=token.community_id,
            roles=token.roles,
            ttl_seconds=int(ACCESS_LIFETIME.total_seconds()),
            now=token.issued_at.timestamp(),
            jti=jti,
        )

    def refresh_secret(self, token: RefreshToken) -> str:
        """HMAC-SHA256 of the token id under a key derived from its signing key."""
        seed = self._seeds.get(token.key_id)
        if seed is None:
            raise LoginRefused("the key of this refresh token has left the ring; log in again")
        mac_key = hashlib.sha256(b"linli-refresh-token:" + seed).digest()
        digest = hmac.new(mac_key, token.id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def jwks(self) -> list[dict[str, Any]]:
        """The public keys of the ring, current first."""
        order = [self._current, *(k for k in self._keys if k != self._current)]
        return [self._keys[key_id].public_jwk for key_id in order]
