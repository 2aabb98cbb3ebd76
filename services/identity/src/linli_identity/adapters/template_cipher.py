"""AES-256-GCM encryption of face templates at rest, with a key per community and rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from linli_identity.domain.face import FaceTemplate
from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound

KEY_BYTES = 32
NONCE_BYTES = 12
_FORMAT = 1
_AAD_LABEL = b"linli/face-template/v1"


class TemplateUnreadable(FailedPrecondition):
    """A stored template failed authentication: wrong owner, wrong key or tampered bytes."""


@dataclass(frozen=True)
class EncryptedTemplate:
    """An encrypted template as stored: which key, the nonce, and ciphertext with its tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        """One self-describing blob for a BYTEA column."""
        key_id = self.key_id.encode()
        return struct.pack("<BB", _FORMAT, len(key_id)) + key_id + self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, blob: bytes) -> EncryptedTemplate:
        """Inverse of to_bytes."""
        if len(blob) < 2 or blob[0] != _FORMAT:
            raise TemplateUnreadable("stored face template has an unknown format")
        key_len = blob[1]
        nonce_at = 2 + key_len
        return cls(
            key_id=blob[2:nonce_at].decode(),
            nonce=blob[nonce_at : nonce_at + NONCE_BYTES],
            ciphertext=blob[nonce_at + NONCE_BYTES :],
        )


class Keyring:
    """The keys of one community by key id; new templates use the current one."""

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in keys:
            raise InvalidArgument(f"current key {current_key_id!r} is not in the keyring")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise InvalidArgument(f"key {key_id!r} must be {KEY_BYTES} bytes")
            if not key_id or len(key_id.encode()) > 255:
                raise InvalidArgument("a key id must be 1 to 255 bytes")
        self._keys = dict(keys)
        self.current_key_id = current_key_id

    @classmethod
    def from_json(cls, secret: str) -> Keyring:
        """Parse a secret like {"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}."""
        data = json.loads(secret)
        keys = {key_id: base64.b64decode(value) for key_id, value in data["keys"].items()}
        return cls(keys, data["current"])

    def key(self, key_id: str) -> bytes:
        """The key with this id; FailedPrecondition if it was retired or never existed."""
        try:
            return self._keys[key_id]
        except KeyError:
            raise TemplateUnreadable(f"face template key {key_id!r} is not available") from None


def dev_keyring(community_id: str) -> Keyring:
    """A keyring derived from the community id and a public constant: for `make run` only.

    Anyone can recompute it, so it protects nothing; it exists so that a local stack keeps
    its templates readable across restarts without any secret being configured.
    """
    key = hashlib.sha256(b"linli-dev-only-template-key:" + community_id.encode()).digest()
    return Keyring({"dev": key}, "dev")


class TemplateCipher:
    """Encrypts templates so that only the same community and resident can decrypt them."""

    def __init__(
        self, keyrings: Mapping[str, Keyring], fallback: Callable[[str], Keyring] | None = None
    ) -> None:
        self._keyrings = dict(keyrings)
        # Gives a keyring to a community with none configured (dev_keyring in `make run`).
        self._fallback = fallback

    def encrypt(
        self, community_id: str, resident_id: str, template: FaceTemplate
    ) -> EncryptedTemplate:
        """Encrypt a template with the community's current key."""
        keyring = self._keyring(community_id)
        key_id = keyring.current_key_id
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(keyring.key(key_id)).encrypt(
            nonce, template.to_bytes(), _aad(community_id, resident_id, key_id)
        )
        return EncryptedTemplate(key_id=key_id, nonce=nonce, ciphertext=ciphertext)

    def decrypt(
        self, community_id: str, resident_id: str, sealed: EncryptedTemplate
    ) -> FaceTemplate:
        """Decrypt and authenticate a template encrypted for this community and resident."""
        key = self._keyring(community_id).key(sealed.key_id)
        try:
            plaintext = AESGCM(key).decrypt(
                sealed.nonce, sealed.ciphertext, _aad(community_id, resident_id, sealed.key_id)
            )
        except InvalidTag:
            raise TemplateUnreadable(
                "stored face template does not belong to this resident or was altered"
            ) from None
        return FaceTemplate.from_bytes(plaintext)

    def current_key_id(self, community_id: str) -> str:
        """The id of the key new templates of the community are encrypted with."""
        return self._keyring(community_id).current_key_id

    def rotate(
        self, community_id: str, resident_id: str, sealed: EncryptedTemplate
    ) -> EncryptedTemplate:
        """Re-encrypt under the current key; one already under it is returned unchanged."""
        if sealed.key_id == self.current_key_id(community_id):
            return sealed
        return self.encrypt(
            community_id, resident_id, self.decrypt(community_id, resident_id, sealed)
        )

    def _keyring(self, community_id: str) -> Keyring:
        keyring = self._keyrings.get(community_id)
        if keyring is None and self._fallback is not None:
            keyring = self._keyrings.setdefault(community_id, self._fallback(community_id))
        if keyring is None:
            raise NotFound(f"no face template key is configured for {community_id!r}")
        return keyring


def _aad(community_id: str, resident_id: str, key_id: str) -> bytes:
    # Length-prefixed so ("a", "bc") and ("ab", "c") can never give the same associated data.
    parts = [_AAD_LABEL, *(value.encode() for value in (community_id, resident_id, key_id))]
    return b"".join(struct.pack("<I", len(part)) + part for part in parts)
