"""The catalogue (R1): what residents redeem points for, its stock and its limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from linli_kit.domain import Aggregate
from linli_kit.errors import FailedPrecondition, InvalidArgument

ITEM_ID = re.compile(r"[a-z][a-z0-9-]{1,39}")
PARTNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAX_PRICE = 100_000_000  # a million points, in hundredths
MAX_STOCK = 1_000_000
DEFAULT_VOUCHER_DAYS = 30


class ItemKind(StrEnum):
    """What an item is."""

    VOUCHER = "voucher"
    FACILITY_TIME = "facility_time"
    DISCOUNT = "discount"
    TRAINING = "training"


@dataclass(kw_only=True, eq=False)
class Item(Aggregate):
    """One thing a resident can redeem, at a price in hundredths of a point (R1)."""

    community_id: str
    id: str
    title: str
    kind: ItemKind
    price: int
    created_at: datetime
    description: str = ""
    value_fen: int = 0
    discount_percent: int = 0
    stock: int = 0
    monthly_limit: int = 0
    yearly_limit: int = 0
    sale_starts_at: datetime | None = None
    sale_ends_at: datetime | None = None
    voucher_valid_days: int = DEFAULT_VOUCHER_DAYS
    partner_id: str = ""
    retired: bool = False

    def __post_init__(self) -> None:
        if not ITEM_ID.fullmatch(self.id):
            raise InvalidArgument("item_id must be 2-40 lower-case letters, digits or hyphens")
        if not self.title.strip() or len(self.title) > 100:
            raise InvalidArgument("an item needs a title of at most 100 characters")
        if not 1 <= self.price <= MAX_PRICE:
            raise InvalidArgument(f"price_centipoints must be 1 to {MAX_PRICE}")
        if not 0 <= self.stock <= MAX_STOCK:
            raise InvalidArgument(f"stock must be 0 to {MAX_STOCK}")
        if not 0 <= self.discount_percent <= 100:
            raise InvalidArgument("discount_percent must be 0 to 100")
        if self.value_fen < 0 or self.monthly_limit < 0 or self.yearly_limit < 0:
            raise InvalidArgument("value_fen and the per-person limits must not be negative")
        if self.monthly_limit and self.yearly_limit and self.monthly_limit > self.yearly_limit:
            raise InvalidArgument("monthly_limit must not exceed yearly_limit")
        if not 1 <= self.voucher_valid_days <= 366:
            raise InvalidArgument("voucher_valid_days must be 1 to 366")
        if self.partner_id and not PARTNER_ID.fullmatch(self.partner_id):
            raise InvalidArgument("partner must be a partner id (lower-case letters, digits, -)")
        if (
            self.sale_starts_at is not None
            and self.sale_ends_at is not None
            and self.sale_ends_at <= self.sale_starts_at
        ):
            raise InvalidArgument("sale_end_time must be after sale_start_time")

    def on_sale(self, at: datetime) -> bool:
        """Whether the item can be redeemed at the time (stock aside)."""
        started = self.sale_starts_at is None or self.sale_starts_at <= at
        ended = self.sale_ends_at is not None and at >= self.sale_ends_at
        return not self.retired and started and not ended

    def require_on_sale(self, at: datetime) -> None:
        """FailedPrecondition unless the item is on sale at the time."""
        if not self.on_sale(at):
            raise FailedPrecondition(f"item {self.id} is not on sale")

    def voucher_expiry(self, issued_at: datetime) -> datetime:
        """When a voucher for the item issued at the time stops being valid."""
        return issued_at + timedelta(days=self.voucher_valid_days)

    def restock(self, units: int) -> None:
        """Add units to the stock of an item still in the catalogue."""
        if self.retired:
            raise FailedPrecondition(f"item {self.id} is retired")
        if not 1 <= units <= MAX_STOCK - self.stock:
            raise InvalidArgument(f"stock would leave 0 to {MAX_STOCK}")
        self.stock += units

    def retire(self) -> None:
        """Take the item off sale for good."""
        self.retired = True


def default_items(community_id: str, at: datetime) -> list[Item]:
    """The policy's shipped catalogue (R1), with no stock until staff restock it."""
    return [
        Item(
            community_id=community_id,
            id="supermarket-voucher",
            title="社区超市代金券 50 元",
            kind=ItemKind.VOUCHER,
            price=100_00,
            value_fen=50_00,
            created_at=at,
        ),
        Item(
            community_id=community_id,
            id="gym-hour",
            title="健身房免费使用 1 小时",
            kind=ItemKind.FACILITY_TIME,
            price=50_00,
            created_at=at,
        ),
        Item(
            community_id=community_id,
            id="housekeeping-discount",
            title="家政保洁服务 8 折",
            kind=ItemKind.DISCOUNT,
            price=200_00,
            discount_percent=20,
            created_at=at,
        ),
    ]
