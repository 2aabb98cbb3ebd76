"""The shop counter: a voucher checked offline (signature, partner, expiry), then online, then
consumed once, all as the counter's partner (adapters/counters.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from linli.rewards.v1 import rewards_service_pb2 as rwd
from pydantic import BaseModel

from linli_gateway.adapters.counters import Counters
from linli_gateway.adapters.vouchers import NotAVoucher, VoucherKeys
from linli_gateway.entrypoints.views.common import enum_name, when

VOUCHER_MAX = 2000  # rewards' limit on a voucher's text


class Check(BaseModel):
    """What the counter knows about a voucher: whether to hand over the item."""

    voucher: str
    valid: bool
    # Why it cannot be used: not_a_voucher, other_partner, expired, or the redemption's state.
    reason: str
    item: str
    item_title: str
    expire_time: datetime | None


class Consumed(BaseModel):
    """A voucher used at the counter."""

    item: str
    item_title: str
    consume_time: datetime | None


async def check(
    counters: Counters,
    keys: VoucherKeys,
    partner_id: str,
    voucher: str,
    now: datetime,
    timeout: float,
) -> Check:
    """Offline first (signature, this partner's item, expiry), then rewards' VerifyVoucher."""
    try:
        claims = await keys.read(voucher)
    except NotAVoucher:
        return Check(
            voucher=voucher,
            valid=False,
            reason="not_a_voucher",
            item="",
            item_title="",
            expire_time=None,
        )
    refusal = ""
    if claims.partner_id != partner_id:
        refusal = "other_partner"
    elif claims.expires_at <= now:
        refusal = "expired"
    if refusal:
        return Check(
            voucher=voucher,
            valid=False,
            reason=refusal,
            item=claims.item,
            item_title="",
            expire_time=claims.expires_at,
        )
    reply = await counters.rewards(partner_id).VerifyVoucher(
        rwd.VerifyVoucherRequest(voucher=voucher), timeout=timeout
    )
    state = enum_name(rwd.RedemptionState.Name(reply.state), "REDEMPTION_STATE_")
    return Check(
        voucher=voucher,
        valid=reply.valid,
        reason="" if reply.valid else state,
        item=reply.item,
        item_title=reply.item_title,
        expire_time=when(reply, "voucher_expire_time") or claims.expires_at,
    )


async def consume(
    counters: Counters, partner_id: str, voucher: str, request_id: str, timeout: float
) -> Consumed:
    """ConsumeVoucher as the partner: once (a second time is FAILED_PRECONDITION)."""
    reply = await counters.rewards(partner_id).ConsumeVoucher(
        rwd.ConsumeVoucherRequest(voucher=voucher, request_id=request_id),
        timeout=timeout,
    )
    return Consumed(
        item=reply.item, item_title=reply.item_title, consume_time=when(reply, "consume_time")
    )


def new_request_id() -> str:
    """A request id for the consume form (a resubmitted form replays)."""
    return str(uuid.uuid4())
