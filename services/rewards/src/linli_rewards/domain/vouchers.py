"""What a voucher says (R4): which redemption of which item, for which partner, until when.

It is signed by the rewards service so that a partner can check it offline; whether it is
still unused is known only online (ConsumeVoucher).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class VoucherClaims:
    """The signed content of a voucher."""

    community_id: str
    redemption_id: str
    item_id: str
    partner_id: str
    issued_at: datetime
    expires_at: datetime
