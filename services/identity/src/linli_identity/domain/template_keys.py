"""Template keys (I2): each community's keyring; new templates use its current key.

Old keys stay in the keyring until every template is re-encrypted under the current one
(key rotation), then the operator removes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

from linli_kit.errors import FailedPrecondition, InvalidArgument

KEY_BYTES = 32


class TemplateUnreadable(FailedPrecondition):
    """A stored template failed authentication: wrong owner, wrong key or tampered bytes."""


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
