"""Vouchers as PASETO v4.public tokens (ARCHITECTURE §9), on the kit's keyring.

A voucher signed by a removed key, altered, or signed elsewhere does not read; how long it
is valid is the redemption's business (an expired voucher is refunded, and told so).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from linli_kit.errors import InvalidArgument
from linli_kit.paseto import PasetoKeyring
from linli_rewards.domain.names import ITEM, REDEMPTION
from linli_rewards.domain.vouchers import VoucherClaims

NOT_OURS = "not a voucher issued by this community"


class PasetoVouchers:
    """VoucherSigner over an Ed25519 keyring: {key id: 32-byte seed}, one of them current."""

    def __init__(self, seeds: Mapping[str, bytes], current_key_id: str) -> None:
        self._ring = PasetoKeyring(seeds, current_key_id)

    def sign(self, claims: VoucherClaims) -> str:
        """The voucher text: v4.public.<payload>.<footer naming the key>."""
        community = claims.community_id
        return self._ring.sign(
            {
                "sub": REDEMPTION.format(community=community, redemption=claims.redemption_id),
                "item": ITEM.format(community=community, item=claims.item_id),
                "partner": claims.partner_id,
                "iat": claims.issued_at.isoformat(timespec="seconds"),
                "exp": claims.expires_at.isoformat(timespec="seconds"),
            }
        )

    def read(self, voucher: str) -> VoucherClaims:
        """The claims of a voucher signed here, even past its validity; else InvalidArgument."""
        try:
            payload = self._ring.read(voucher)
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
        except (ValueError, KeyError, TypeError, InvalidArgument):
            raise InvalidArgument(NOT_OURS) from None

    def public_keys(self) -> list[tuple[str, str]]:
        """(key id, PASERK) of every key in the ring, current first."""
        return self._ring.public_keys()
