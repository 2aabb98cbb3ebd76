"""Residents' codes (an HMAC of the request, so a retry shows the same code), signed answers
(PASETO v4.public on the kit's keyring), and each partner's own rate of checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from linli_kit.paseto import PasetoKeyring
from linli_kit.ratelimits import Buckets, per_minute
from linli_partners.domain.eligibility import EligibilityCheck, code_text
from linli_partners.domain.names import BENEFIT, PARTNER


class HmacCodes:
    """CodeMaker: a code is an HMAC of community, resident and request id under a secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def code(self, community_id: str, resident_id: str, request_id: str) -> str:
        """The code of a request (a fresh random one without a request id)."""
        if not request_id:
            return code_text(secrets.token_bytes(32))
        message = f"{community_id}\n{resident_id}\n{request_id}".encode()
        return code_text(hmac.new(self._secret, message, hashlib.sha256).digest())


class PasetoProofs:
    """ProofSigner: the answer, the benefit, the partner and the check id, signed."""

    def __init__(self, ring: PasetoKeyring) -> None:
        self._ring = ring

    def sign(self, check: EligibilityCheck) -> str:
        """The signed answer; it names no resident."""
        community = check.community_id
        return self._ring.sign(
            {
                "jti": check.id,
                "partner": PARTNER.format(community=community, partner=check.partner_id),
                "benefit": BENEFIT.format(
                    community=community, partner=check.benefit_owner_id, benefit=check.benefit_id
                ),
                "qualifies": check.qualifies,
                "tier": check.tier,
                "iat": check.checked_at.isoformat(timespec="seconds"),
                "exp": check.valid_until.isoformat(timespec="seconds"),
            }
        )

    def public_keys(self) -> list[tuple[str, str]]:
        """(key id, PASERK) of every key in the ring, current first."""
        return self._ring.public_keys()


class PartnerQuota:
    """Quota: a token bucket per partner at the rate its row allows, in this replica."""

    def __init__(self) -> None:
        self._buckets = Buckets()

    def charge(self, partner_id: str, checks_per_minute: int) -> None:
        """Count one check, or ResourceExhausted past the partner's rate."""
        self._buckets.charge(partner_id, per_minute(checks_per_minute))
