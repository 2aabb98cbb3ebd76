"""Vouchers as PASETO v4.public tokens (Ed25519), the key id in the footer (ARCHITECTURE §9).

The keyring works like identity's signing keys: new vouchers use the current key; older keys
stay in the ring (and in GetVoucherKeys) until the operator removes them, after the longest
voucher validity; a voucher signed by a removed key no longer reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import cast

import pyseto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from linli_kit.errors import InvalidArgument
from linli_rewards.domain.names import ITEM, REDEMPTION
from linli_rewards.domain.vouchers import VoucherClaims

NOT_OURS = "not a voucher issued by this community"


def dev_voucher_seeds() -> dict[str, bytes]:
    """A key derived from a public constant: for `make run` and tests only, it protects nothing."""
    return {"dev": hashlib.sha256(b"linli-dev-only-voucher-key").digest()}


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


class PasetoVouchers:
    """VoucherSigner over an Ed25519 keyring: {key id: 32-byte seed}, one of them current."""

    def __init__(self, seeds: Mapping[str, bytes], current_key_id: str) -> None:
        if current_key_id not in seeds:
            raise InvalidArgument(f"current voucher key {current_key_id!r} is not in the ring")
        self._pairs = {key_id: _keys(seed) for key_id, seed in seeds.items()}
        self._current = current_key_id

    def sign(self, claims: VoucherClaims) -> str:
        """The voucher text: v4.public.<payload>.<footer naming the key>."""
        payload = {
            "sub": REDEMPTION.format(
                community=claims.community_id, redemption=claims.redemption_id
            ),
            "item": ITEM.format(community=claims.community_id, item=claims.item_id),
            "partner": claims.partner_id,
            "iat": claims.issued_at.isoformat(timespec="seconds"),
            "exp": claims.expires_at.isoformat(timespec="seconds"),
        }
        secret, _ = self._pairs[self._current]
        token = pyseto.encode(secret, payload, footer={"kid": self._current}, serializer=json)
        return token.decode()

    def read(self, voucher: str) -> VoucherClaims:
        """The claims of a voucher signed here, even past its validity; else InvalidArgument."""
        try:
            footer = json.loads(cast(bytes, pyseto.Token.new(voucher.encode()).footer) or b"{}")
            _, public = self._pairs[str(footer["kid"])]
            # Expiry is the redemption's business (an expired voucher is refunded, and told so).
            payload = json.loads(cast(bytes, pyseto.decode(public, voucher).payload))
            redemption = REDEMPTION.parse(payload["sub"])
            item = ITEM.parse(payload["item"])
            return VoucherClaims(
                community_id=redemption["community"],
                redemption_id=redemption["redemption"],
                item_id=item["item"],
                partner_id=str(payload["partner"]),
                issued_at=datetime.fromisoformat(payload["iat"]),
                expires_at=datetime.fromisoformat(payload["exp"]),
            )
        except (ValueError, KeyError, TypeError, pyseto.PysetoError, InvalidArgument):
            raise InvalidArgument(NOT_OURS) from None

    def public_keys(self) -> list[tuple[str, str]]:
        """(key id, PASERK) of every key in the ring, current first."""
        order = [self._current, *(k for k in self._pairs if k != self._current)]
        return [(key_id, self._pairs[key_id][1].to_paserk()) for key_id in order]
