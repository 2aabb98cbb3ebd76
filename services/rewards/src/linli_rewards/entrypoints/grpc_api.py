"""The RewardsService servicer: map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the rules that need the record itself are
in `domain.access`, applied by the use cases to the caller passed as the command's actor.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
import segno
from linli.rewards.v1 import rewards_service_pb2 as pb
from linli.rewards.v1 import rewards_service_pb2_grpc as pb_grpc

from linli_kit import auth, metrics
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_kit.names import decode_page_token, next_page_token, page_size
from linli_kit.principals import STAFF_ROLES, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_kit.servicers import UseCaseServicer
from linli_rewards.domain.names import COMMUNITY, ITEM, REDEMPTION, RESIDENT
from linli_rewards.entrypoints.messages import STATES, create_item, item_message, redemption_message
from linli_rewards.service_layer import catalogue, commands, redemptions
from linli_rewards.service_layer.ports import RewardsUnitOfWork, VoucherSigner
from linli_rewards.service_layer.redemptions import Saga

Context: TypeAlias = grpc.aio.ServicerContext

STAFF = auth.persons(*STAFF_ROLES)
# Vouchers are checked at a partner's counter (its certificate, with the "vouchers" scope the
# partners service grants) or, for the community's own items, by staff; the use cases then
# check that the caller fulfils the voucher's item.
FULFILLERS = auth.partners("vouchers") + STAFF
POLICY: auth.Policy = {
    "CreateItem": STAFF,
    "CreateDefaultItems": STAFF,
    "GetItem": auth.persons(),
    "ListItems": auth.persons(),
    "RestockItem": STAFF,
    "RetireItem": STAFF,
    # A resident for themself, staff for anyone.
    "Redeem": auth.persons(),
    "GetRedemption": auth.persons(),
    "ListRedemptions": auth.persons(),
    "CancelRedemption": auth.persons(),
    "RenderVoucher": auth.persons(),
    "VerifyVoucher": FULFILLERS,
    "ConsumeVoucher": FULFILLERS,
    "GetVoucherKeys": auth.public(),
}
# Calls per caller. A resident redeems a few times a month; a shop counter checks a queue of
# vouchers at about one every two seconds. The public keys are fetched once per device.
LIMITS: Limits = {
    "Redeem": per_minute(30, burst=10),
    "CancelRedemption": per_minute(30, burst=10),
    "RenderVoucher": per_minute(60, burst=20),
    "VerifyVoucher": per_minute(120, burst=30),
    "ConsumeVoucher": per_minute(120, burst=30),
    "GetVoucherKeys": per_minute(60, burst=10),
}
QR_SCALE = 6


class RewardsServicer(UseCaseServicer, pb_grpc.RewardsServiceServicer):
    """The catalogue, redemptions and vouchers over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], RewardsUnitOfWork],
        saga: Saga,
        signer: VoucherSigner,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.saga, self.signer, self.clock = uow_factory, saga, signer, clock

    async def CreateItem(
        self, request: pb.CreateItemRequest, context: Context
    ) -> pb.CreateItemResponse:
        """Add an item to the catalogue."""
        command = create_item(request, current_principal())
        item = await self._run(catalogue.create_item, command, clock=self.clock)
        return pb.CreateItemResponse(item=item_message(item))

    async def CreateDefaultItems(
        self, request: pb.CreateDefaultItemsRequest, context: Context
    ) -> pb.CreateDefaultItemsResponse:
        """Add the policy's default items the catalogue lacks."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        command = commands.CreateDefaultItems(
            community, request.request_id, actor=current_principal()
        )
        added = await self._run(catalogue.create_default_items, command, clock=self.clock)
        return pb.CreateDefaultItemsResponse(items=[item_message(item) for item in added])

    async def GetItem(self, request: pb.GetItemRequest, context: Context) -> pb.GetItemResponse:
        """An item by name."""
        ids = ITEM.parse(request.name)
        item = await asyncio.to_thread(
            catalogue.get_item,
            current_principal(),
            ids["community"],
            ids["item"],
            self.uow_factory(),
        )
        return pb.GetItemResponse(item=item_message(item))

    async def ListItems(
        self, request: pb.ListItemsRequest, context: Context
    ) -> pb.ListItemsResponse:
        """A page of a community's items."""
        community = COMMUNITY.parse(request.parent, "parent")["community"]
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            catalogue.list_items,
            current_principal(),
            community,
            offset,
            limit,
            self.uow_factory(),
            self.clock,
        )
        return pb.ListItemsResponse(
            items=[item_message(item) for item in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def RestockItem(
        self, request: pb.RestockItemRequest, context: Context
    ) -> pb.RestockItemResponse:
        """Add stock to an item."""
        command = _item_command(
            commands.RestockItem, request.name, request.request_id, units=request.add_stock
        )
        return pb.RestockItemResponse(
            item=item_message(await self._run(catalogue.restock_item, command))
        )

    async def RetireItem(
        self, request: pb.RetireItemRequest, context: Context
    ) -> pb.RetireItemResponse:
        """Take an item off sale for good."""
        command = _item_command(commands.RetireItem, request.name, request.request_id)
        return pb.RetireItemResponse(
            item=item_message(await self._run(catalogue.retire_item, command))
        )

    async def Redeem(self, request: pb.RedeemRequest, context: Context) -> pb.RedeemResponse:
        """Redeem an item: reserve, take stock, issue the voucher, spend the points."""
        resident = RESIDENT.parse(request.parent, "parent")
        item = ITEM.parse(request.item, "item")
        if item["community"] != resident["community"]:
            raise InvalidArgument("the item must be in the resident's community")
        command = commands.Redeem(
            resident["community"],
            resident["resident"],
            item["item"],
            request.request_id,
            actor=current_principal(),
        )
        started = await self._run(redemptions.start, command, clock=self.clock)
        finished = await asyncio.to_thread(self.saga.drive, started.community_id, started.id)
        metrics.REWARDS_REDEMPTIONS.labels(finished.community_id, finished.state.value).inc()
        finished.require_redeemed()
        return pb.RedeemResponse(redemption=redemption_message(finished))

    async def GetRedemption(
        self, request: pb.GetRedemptionRequest, context: Context
    ) -> pb.GetRedemptionResponse:
        """A redemption by name."""
        ids = REDEMPTION.parse(request.name)
        found = await asyncio.to_thread(
            redemptions.get,
            current_principal(),
            ids["community"],
            ids["redemption"],
            self.uow_factory(),
        )
        return pb.GetRedemptionResponse(redemption=redemption_message(found))

    async def ListRedemptions(
        self, request: pb.ListRedemptionsRequest, context: Context
    ) -> pb.ListRedemptionsResponse:
        """A page of a resident's redemptions, newest first."""
        ids = RESIDENT.parse(request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await asyncio.to_thread(
            redemptions.of_resident,
            current_principal(),
            ids["community"],
            ids["resident"],
            offset,
            limit,
            self.uow_factory(),
        )
        return pb.ListRedemptionsResponse(
            redemptions=[redemption_message(r) for r in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CancelRedemption(
        self, request: pb.CancelRedemptionRequest, context: Context
    ) -> pb.CancelRedemptionResponse:
        """Cancel an unused voucher: refund its points, return its stock."""
        ids = REDEMPTION.parse(request.name)
        command = commands.CancelRedemption(
            ids["community"],
            ids["redemption"],
            request.reason,
            request.request_id,
            actor=current_principal(),
        )
        cancelled = await self._run(redemptions.cancel, command, clock=self.clock)
        refunded = await asyncio.to_thread(self.saga.drive, cancelled.community_id, cancelled.id)
        return pb.CancelRedemptionResponse(redemption=redemption_message(refunded))

    async def RenderVoucher(
        self, request: pb.RenderVoucherRequest, context: Context
    ) -> pb.RenderVoucherResponse:
        """A usable voucher as a QR code (SVG or PNG)."""
        ids = REDEMPTION.parse(request.name)
        found = await asyncio.to_thread(
            redemptions.get,
            current_principal(),
            ids["community"],
            ids["redemption"],
            self.uow_factory(),
        )
        if not found.usable(self.clock()):
            raise FailedPrecondition(f"the voucher cannot be used: the redemption is {found.state}")
        png = request.format == pb.IMAGE_FORMAT_PNG
        image = io.BytesIO()
        segno.make(found.voucher, error="m").save(
            image, kind="png" if png else "svg", scale=QR_SCALE
        )
        return pb.RenderVoucherResponse(
            image=image.getvalue(), content_type="image/png" if png else "image/svg+xml"
        )

    async def VerifyVoucher(
        self, request: pb.VerifyVoucherRequest, context: Context
    ) -> pb.VerifyVoucherResponse:
        """Whether a voucher can be consumed now, for a caller who fulfils its item."""
        found = await asyncio.to_thread(
            redemptions.verify,
            current_principal(),
            request.voucher,
            self.uow_factory(),
            self.signer,
        )
        return pb.VerifyVoucherResponse(
            valid=found.usable(self.clock()),
            item=ITEM.format(community=found.community_id, item=found.item_id),
            item_title=found.item_title,
            state=STATES[found.state],
            voucher_expire_time=redemption_message(found).voucher_expire_time,
        )

    async def ConsumeVoucher(
        self, request: pb.ConsumeVoucherRequest, context: Context
    ) -> pb.ConsumeVoucherResponse:
        """Use a voucher, once."""
        command = commands.ConsumeVoucher(
            request.voucher, request.request_id, actor=current_principal()
        )
        used = await self._run(redemptions.consume, command, self.signer, clock=self.clock)
        metrics.REWARDS_VOUCHERS_CONSUMED.labels(used.community_id).inc()
        message = redemption_message(used)
        return pb.ConsumeVoucherResponse(
            item=message.item, item_title=used.item_title, consume_time=message.consume_time
        )

    async def GetVoucherKeys(
        self, request: pb.GetVoucherKeysRequest, context: Context
    ) -> pb.GetVoucherKeysResponse:
        """The public keys vouchers are signed with."""
        COMMUNITY.parse(request.parent, "parent")
        return pb.GetVoucherKeysResponse(
            keys=[
                pb.VoucherKey(key_id=key_id, paserk=paserk)
                for key_id, paserk in self.signer.public_keys()
            ]
        )


def _item_command(
    command_type: Callable[..., Any], name: str, request_id: str, **extra: Any
) -> Any:
    """The command of an RPC on one item, by the item's name."""
    ids = ITEM.parse(name)
    return command_type(
        ids["community"], ids["item"], **extra, request_id=request_id, actor=current_principal()
    )
