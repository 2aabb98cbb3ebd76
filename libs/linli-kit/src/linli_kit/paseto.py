"""Signed tokens a third party checks offline: PASETO v4.public (Ed25519), key id in the footer.

A keyring works like identity's signing keys: new tokens use the current key; older keys stay
in the ring (and in the published keys) until the operator removes them, after the longest
lifetime of what they signed; a token signed by a removed key no longer reads. Rewards signs
vouchers with one, partners its eligibility answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

import pyseto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from linli_kit.errors import InvalidArgument


def dev_seeds(purpose: str) -> dict[str, bytes]:
    """A key derived from a public constant: for `make run` and tests only, it protects nothing."""
    return {"dev": hashlib.sha256(f"linli-dev-only-{purpose}-key".encode()).digest()}


def _keys(seed: bytes) -> tuple[pyseto.KeyInterface, pyseto.KeyInterface]:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    secret_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return (
        pyseto.Key.new(version=4, purpose="public", key=secret_pem),
        pyseto.Key.new(version=4, purpose="public", key=public_pem),
    )


class PasetoKeyring:
    """Ed25519 keys by id ({key id: 32-byte seed}), one current: signs and reads v4.public."""

    def __init__(self, seeds: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in seeds:
            raise InvalidArgument(f"current key {current_key_id!r} is not in the ring")
        self._pairs = {key_id: _keys(seed) for key_id, seed in seeds.items()}
        self._current = current_key_id

    def sign(self, payload: Mapping[str, Any]) -> str:
        """The token: v4.public.<payload>.<footer naming the current key>."""
        secret, _ = self._pairs[self._current]
        token = pyseto.encode(secret, dict(payload), footer={"kid": self._current}, serializer=json)
        return token.decode()

    def read(self, token: str) -> dict[str, Any]:
        """The payload of a token this ring signed, whatever its `exp`; else InvalidArgument."""
        try:
            footer = json.loads(cast(bytes, pyseto.Token.new(token.encode()).footer) or b"{}")
            _, public = self._pairs[str(footer["kid"])]
            payload = json.loads(cast(bytes, pyseto.decode(public, token).payload))
        except (ValueError, KeyError, TypeError, pyseto.PysetoError):
            raise InvalidArgument("not signed by a key of this ring") from None
        if not isinstance(payload, dict):
            raise InvalidArgument("not signed by a key of this ring")
        return payload

    def public_keys(self) -> list[tuple[str, str]]:
        """(key id, PASERK) of every key in the ring, current first."""
        order = [self._current, *(k for k in self._pairs if k != self._current)]
        return [(key_id, self._pairs[key_id][1].to_paserk()) for key_id in order]
