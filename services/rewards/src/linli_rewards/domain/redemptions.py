"""Redemption as a saga (R4): reserve points, take stock, issue the voucher, spend the points.

Each step moves the redemption from one state to the next and is stored only if nobody moved
it first, so the request that started it and the recovery job may drive it at once. Every
call to points carries a request id derived from the redemption, so a step repeated after a
crash asks points the same question and gets the same answer.

    STARTED ─reserve─▶ RESERVED ─stock+voucher─▶ ISSUED ─commit─▶ ACTIVE ─▶ CONSUMED
       │                  │                        │                │
       ▼ (too few points) └──────────┬─────────────┘                ▼ (cancel / expiry)
     FAILED                    VOIDING ─void─▶ VOIDED           REFUNDING ─refund─▶ REFUNDED
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.calendar import SHANGHAI
from linli_kit.domain import Aggregate, DomainEvent, new_id
from linli_kit.errors import FailedPrecondition
from linli_rewards.domain.catalogue import Item

# Reasons come from points' answers too: what is kept of one.
MAX_REASON = 500


class RedemptionState(StrEnum):
    """Where a redemption is in its saga."""

    STARTED = "started"
    RESERVED = "reserved"
    ISSUED = "issued"
    ACTIVE = "active"
    CONSUMED = "consumed"
    VOIDING = "voiding"
    VOIDED = "voided"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    FAILED = "failed"


# States a redemption leaves on its own (by the request or the recovery job), and those it
# never leaves.
IN_FLIGHT = frozenset(
    {
        RedemptionState.STARTED,
        RedemptionState.RESERVED,
        RedemptionState.ISSUED,
        RedemptionState.VOIDING,
        RedemptionState.REFUNDING,
    }
)
FINAL = frozenset(
    {
        RedemptionState.CONSUMED,
        RedemptionState.VOIDED,
        RedemptionState.REFUNDED,
        RedemptionState.FAILED,
    }
)


@dataclass(frozen=True, kw_only=True)
class VoucherIssued(DomainEvent):
    """A voucher can be used: its points are spent."""

    redemption_id: str
    resident_id: str
    item_id: str
    price: int
    partner_id: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class VoucherConsumed(DomainEvent):
    """A voucher was used."""

    redemption_id: str
    resident_id: str
    item_id: str
    consumed_by: str


@dataclass(frozen=True, kw_only=True)
class RedemptionVoided(DomainEvent):
    """A redemption was undone, or its unused voucher refunded."""

    redemption_id: str
    resident_id: str
    item_id: str
    refunded: bool
    reason: str


def limit_periods(at: datetime) -> tuple[str, str]:
    """The calendar month and year (Asia/Shanghai) per-person limits count in: '2026-12', '2026'."""
    local = at.astimezone(SHANGHAI)
    return f"{local.year:04d}-{local.month:02d}", f"{local.year:04d}"


@dataclass(kw_only=True, eq=False)
class Redemption(Aggregate):
    """One resident's redemption of one item, and its voucher."""

    community_id: str
    id: str
    resident_id: str
    item_id: str
    item_title: str
    partner_id: str
    price: int
    created_at: datetime
    updated_at: datetime
    state: RedemptionState = RedemptionState.STARTED
    reservation_id: str = ""
    voucher: str = ""
    voucher_expires_at: datetime | None = None
    # Whether this redemption holds a unit of stock and counts against the per-person limits.
    holds_stock: bool = False
    consumed_at: datetime | None = None
    consumed_by: str = ""
    end_reason: str = ""

    @classmethod
    def start(cls, resident_id: str, item: Item, at: datetime) -> Redemption:
        """A new redemption of an item on sale, at its current price."""
        item.require_on_sale(at)
        return cls(
            community_id=item.community_id,
            id=new_id("rd"),
            resident_id=resident_id,
            item_id=item.id,
            item_title=item.title,
            partner_id=item.partner_id,
            price=item.price,
            created_at=at,
            updated_at=at,
        )

    @property
    def periods(self) -> tuple[str, str]:
        """The month and year this redemption counts in against the per-person limits."""
        return limit_periods(self.created_at)

    def request_id(self, step: str) -> str:
        """The request id of one of this redemption's calls to points."""
        return f"rewards/{self.id}/{step}"

    def _move(
        self, expected: frozenset[RedemptionState], to: RedemptionState, at: datetime
    ) -> None:
        if self.state not in expected:
            raise FailedPrecondition(f"redemption {self.id} is {self.state}")
        self.state, self.updated_at = to, at

    def reserved(self, reservation_id: str, at: datetime) -> None:
        """Points hold the price."""
        self._move(frozenset({RedemptionState.STARTED}), RedemptionState.RESERVED, at)
        self.reservation_id = reservation_id

    def refused(self, reason: str, at: datetime) -> None:
        """Points would not hold the price: nothing is held, nothing to undo."""
        self._move(frozenset({RedemptionState.STARTED}), RedemptionState.FAILED, at)
        self.end_reason = reason[:MAX_REASON]

    def issue(self, voucher: str, expires_at: datetime, at: datetime) -> None:
        """A unit of stock is taken and the voucher signed; the points are still to be spent."""
        self._move(frozenset({RedemptionState.RESERVED}), RedemptionState.ISSUED, at)
        self.voucher, self.voucher_expires_at, self.holds_stock = voucher, expires_at, True

    def undo(self, reason: str, at: datetime) -> bool:
        """Start undoing a redemption not yet active; True if its stock is to be returned."""
        self._move(
            frozenset({RedemptionState.STARTED, RedemptionState.RESERVED, RedemptionState.ISSUED}),
            RedemptionState.VOIDING,
            at,
        )
        self.end_reason = reason[:MAX_REASON]
        return self._release_stock()

    def _release_stock(self) -> bool:
        held, self.holds_stock = self.holds_stock, False
        return held

    def voided(self, at: datetime) -> None:
        """Points released the reservation: the redemption is undone."""
        self._move(frozenset({RedemptionState.VOIDING}), RedemptionState.VOIDED, at)
        self.voucher = ""
        self.events.append(self._voided_event(refunded=False))

    def activate(self, at: datetime) -> None:
        """Points spent the reservation: the voucher can be used."""
        self._move(frozenset({RedemptionState.ISSUED}), RedemptionState.ACTIVE, at)
        assert self.voucher_expires_at is not None
        self.events.append(
            VoucherIssued(
                community_id=self.community_id,
                occurred_at=at,
                redemption_id=self.id,
                resident_id=self.resident_id,
                item_id=self.item_id,
                price=self.price,
                partner_id=self.partner_id,
                expires_at=self.voucher_expires_at,
            )
        )

    def usable(self, at: datetime) -> bool:
        """Whether the voucher can be consumed at the time."""
        return (
            self.state is RedemptionState.ACTIVE
            and self.voucher_expires_at is not None
            and at < self.voucher_expires_at
        )

    def require_usable(self, at: datetime) -> None:
        """FailedPrecondition, saying why, unless the voucher can be consumed now."""
        if self.state is RedemptionState.CONSUMED:
            raise FailedPrecondition(f"voucher already used at {self.consumed_at:%Y-%m-%d %H:%M}")
        if self.state is RedemptionState.ACTIVE and not self.usable(at):
            raise FailedPrecondition("voucher expired; its points are refunded")
        if self.state is not RedemptionState.ACTIVE:
            raise FailedPrecondition(f"voucher cannot be used: the redemption is {self.state}")

    def consume(self, by: str, at: datetime) -> None:
        """The voucher is used, once."""
        self.require_usable(at)
        self.state, self.updated_at = RedemptionState.CONSUMED, at
        self.consumed_at, self.consumed_by = at, by
        self.events.append(
            VoucherConsumed(
                community_id=self.community_id,
                occurred_at=at,
                redemption_id=self.id,
                resident_id=self.resident_id,
                item_id=self.item_id,
                consumed_by=by,
            )
        )

    def cancel(self, reason: str, at: datetime) -> bool:
        """Give an unused voucher back; True if its stock is to be returned."""
        if self.state is not RedemptionState.ACTIVE:
            self.require_usable(at)
        self._move(frozenset({RedemptionState.ACTIVE}), RedemptionState.REFUNDING, at)
        self.end_reason = (reason or "cancelled")[:MAX_REASON]
        return self._release_stock()

    def expire(self, at: datetime) -> bool:
        """An active voucher past its validity is refunded; True if its stock is returned."""
        if self.usable(at) or self.state is not RedemptionState.ACTIVE:
            raise FailedPrecondition(f"redemption {self.id} has not expired")
        return self.cancel("expired unused", at)

    def refunded(self, at: datetime) -> None:
        """Points gave the spent points back."""
        self._move(frozenset({RedemptionState.REFUNDING}), RedemptionState.REFUNDED, at)
        self.voucher = ""
        self.events.append(self._voided_event(refunded=True))

    def _voided_event(self, refunded: bool) -> RedemptionVoided:
        return RedemptionVoided(
            community_id=self.community_id,
            occurred_at=self.updated_at,
            redemption_id=self.id,
            resident_id=self.resident_id,
            item_id=self.item_id,
            refunded=refunded,
            reason=self.end_reason,
        )

    def require_redeemed(self) -> None:
        """FailedPrecondition with the reason if the redemption ended without a voucher."""
        if self.state in (RedemptionState.FAILED, RedemptionState.VOIDED, RedemptionState.VOIDING):
            raise FailedPrecondition(f"not redeemed: {self.end_reason}")
