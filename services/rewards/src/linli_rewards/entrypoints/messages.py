"""Protobuf messages of the rewards API from domain objects, and commands from requests."""

from __future__ import annotations

from linli.rewards.v1 import rewards_service_pb2 as pb

from linli_kit.errors import InvalidArgument
from linli_kit.principals import Principal
from linli_kit.wire import optional_time, timestamp
from linli_rewards.domain.catalogue import DEFAULT_VOUCHER_DAYS, Item, ItemKind
from linli_rewards.domain.names import COMMUNITY, ITEM, REDEMPTION, RESERVATION, RESIDENT
from linli_rewards.domain.redemptions import Redemption, RedemptionState
from linli_rewards.service_layer import commands

KINDS = {pb.ItemKind.Value(f"ITEM_KIND_{kind.name}"): kind for kind in ItemKind}
KIND_CODES = {kind: code for code, kind in KINDS.items()}
STATES = {
    state: pb.RedemptionState.Value(f"REDEMPTION_STATE_{state.name}") for state in RedemptionState
}


def item_message(item: Item) -> pb.Item:
    """The API's view of an item."""
    return pb.Item(
        name=ITEM.format(community=item.community_id, item=item.id),
        title=item.title,
        description=item.description,
        kind=KIND_CODES[item.kind],
        price_centipoints=item.price,
        value_fen=item.value_fen,
        discount_percent=item.discount_percent,
        stock=item.stock,
        monthly_limit=item.monthly_limit,
        yearly_limit=item.yearly_limit,
        sale_start_time=timestamp(item.sale_starts_at),
        sale_end_time=timestamp(item.sale_ends_at),
        voucher_valid_days=item.voucher_valid_days,
        partner=item.partner_id,
        retired=item.retired,
        create_time=timestamp(item.created_at),
    )


def create_item(request: pb.CreateItemRequest, actor: Principal) -> commands.CreateItem:
    """The command adding the requested item."""
    given = request.item
    if given.kind not in KINDS:
        raise InvalidArgument("item.kind must be one of ITEM_KIND_VOUCHER … ITEM_KIND_TRAINING")
    return commands.CreateItem(
        community_id=COMMUNITY.parse(request.parent, "parent")["community"],
        id=request.item_id,
        title=given.title,
        kind=KINDS[given.kind],
        price=given.price_centipoints,
        description=given.description,
        value_fen=given.value_fen,
        discount_percent=given.discount_percent,
        stock=given.stock,
        monthly_limit=given.monthly_limit,
        yearly_limit=given.yearly_limit,
        sale_starts_at=optional_time(given, "sale_start_time"),
        sale_ends_at=optional_time(given, "sale_end_time"),
        voucher_valid_days=given.voucher_valid_days or DEFAULT_VOUCHER_DAYS,
        partner_id=given.partner,
        request_id=request.request_id,
        actor=actor,
    )


def redemption_message(redemption: Redemption) -> pb.Redemption:
    """The API's view of a redemption and its voucher."""
    community = redemption.community_id
    reservation = (
        RESERVATION.format(community=community, reservation=redemption.reservation_id)
        if redemption.reservation_id
        else ""
    )
    return pb.Redemption(
        name=REDEMPTION.format(community=community, redemption=redemption.id),
        resident=RESIDENT.format(community=community, resident=redemption.resident_id),
        item=ITEM.format(community=community, item=redemption.item_id),
        item_title=redemption.item_title,
        price_centipoints=redemption.price,
        state=STATES[redemption.state],
        reservation=reservation,
        voucher=redemption.voucher if redemption.state is RedemptionState.ACTIVE else "",
        create_time=timestamp(redemption.created_at),
        update_time=timestamp(redemption.updated_at),
        voucher_expire_time=timestamp(redemption.voucher_expires_at),
        consume_time=timestamp(redemption.consumed_at),
        consumed_by=redemption.consumed_by,
        end_reason=redemption.end_reason,
    )
