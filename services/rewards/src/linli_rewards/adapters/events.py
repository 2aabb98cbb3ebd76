"""Rewards domain events as protobuf payloads for rewards.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.events.v1 import rewards_events_pb2 as pb

from linli_kit.domain import DomainEvent
from linli_rewards.domain.names import ITEM, REDEMPTION, RESIDENT
from linli_rewards.domain.redemptions import RedemptionVoided, VoucherConsumed, VoucherIssued


def _names(event: VoucherIssued | VoucherConsumed | RedemptionVoided) -> dict[str, str]:
    community = event.community_id
    return {
        "redemption": REDEMPTION.format(community=community, redemption=event.redemption_id),
        "resident": RESIDENT.format(community=community, resident=event.resident_id),
        "item": ITEM.format(community=community, item=event.item_id),
    }


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for a rewards event."""
    match event:
        case VoucherIssued():
            issued = pb.VoucherIssued(
                **_names(event), price_centipoints=event.price, partner=event.partner_id
            )
            issued.voucher_expire_time.FromDatetime(event.expires_at)
            return issued
        case VoucherConsumed():
            return pb.VoucherConsumed(**_names(event), consumed_by=event.consumed_by)
        case RedemptionVoided():
            return pb.RedemptionVoided(
                **_names(event), refunded=event.refunded, reason=event.reason
            )
    raise TypeError(f"no payload for {type(event).__name__}")
