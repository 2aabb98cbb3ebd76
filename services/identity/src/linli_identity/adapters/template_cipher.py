"""AES-256-GCM encryption of face templates at rest, with a key per community and rotation."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from linli_identity.domain.face import FaceTemplate
from linli_identity.domain.template_keys import Keyring, TemplateUnreadable
from linli_kit.errors import NotFound

NONCE_BYTES = 12
_FORMAT = 1
_AAD_LABEL = b"linli/face-template/v1"


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
