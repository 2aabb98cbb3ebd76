"""Vouchers read offline: rewards' public keys (GetVoucherKeys, public) check the signature.

A voucher is a PASETO v4.public token whose footer names the key (ARCHITECTURE §9). The keys
are fetched once and kept; a voucher naming a key not yet seen fetches them again (rotation),
at most once a minute. Whether it is still unused is known only online (VerifyVoucher).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import pyseto
from linli.rewards.v1 import rewards_service_pb2 as rwd

from linli_gateway.adapters.services import Services

REFETCH_SECONDS = 60.0


class NotAVoucher(ValueError):
    """Not a voucher signed by this community's rewards service (malformed or tampered)."""


@dataclass(frozen=True)
class VoucherClaims:
    """What a voucher's signed payload says."""

    redemption: str
    item: str
    partner_id: str
    issued_at: datetime
    expires_at: datetime


class VoucherKeys:
    """The community's voucher public keys by key id, fetched from rewards when needed."""

    def __init__(self, services: Services, community: str) -> None:
        self.services, self.community = services, community
        self._keys: dict[str, Any] = {}
        self._fetched = -REFETCH_SECONDS

    async def _fetch(self) -> None:
        request = rwd.GetVoucherKeysRequest(parent=f"communities/{self.community}")
        reply = await self.services.rewards.GetVoucherKeys(request, timeout=self.services.timeout)
        self._keys = {k.key_id: pyseto.Key.from_paserk(k.paserk) for k in reply.keys}
        self._fetched = time.monotonic()

    async def read(self, voucher: str) -> VoucherClaims:
        """The claims of a voucher this community signed, even past its expiry; else NotAVoucher."""
        try:
            footer = json.loads(cast(bytes, pyseto.Token.new(voucher.encode()).footer) or b"{}")
            key_id = str(footer["kid"])
        except (ValueError, KeyError, TypeError, pyseto.PysetoError):
            raise NotAVoucher("this is not a voucher") from None
        if key_id not in self._keys and time.monotonic() - self._fetched >= REFETCH_SECONDS:
            await self._fetch()
        if key_id not in self._keys:
            raise NotAVoucher("this voucher is signed by a key this community does not use")
        try:
            payload = json.loads(cast(bytes, pyseto.decode(self._keys[key_id], voucher).payload))
            return VoucherClaims(
                redemption=str(payload["sub"]),
                item=str(payload["item"]),
                partner_id=str(payload["partner"]),
                issued_at=datetime.fromisoformat(payload["iat"]),
                expires_at=datetime.fromisoformat(payload["exp"]),
            )
        except (ValueError, KeyError, TypeError, pyseto.PysetoError):
            raise NotAVoucher("this voucher's signature does not verify") from None
