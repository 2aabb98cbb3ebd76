"""What the rewards use cases are asked to do: one command per mutating request.

Every command carries its caller (`actor`): the access rules take it, and a request id reused
by another caller is refused rather than answered with the first caller's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from linli_kit.principals import Principal
from linli_rewards.domain.catalogue import DEFAULT_VOUCHER_DAYS, Item, ItemKind
from linli_rewards.domain.recognition import NominationState


@dataclass(frozen=True, kw_only=True)
class CreateItem:
    """Add an item to the community's catalogue; the fields are the item's (R1)."""

    community_id: str
    id: str
    title: str
    kind: ItemKind
    price: int
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
    request_id: str = ""
    actor: Principal

    def item(self, created_at: datetime) -> Item:
        """The item this command adds, created at the time."""
        terms = {f.name: getattr(self, f.name) for f in fields(self)}
        del terms["request_id"], terms["actor"]
        return Item(created_at=created_at, **terms)


@dataclass(frozen=True)
class CreateDefaultItems:
    """Add the policy's default items the catalogue does not hold yet."""

    community_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RestockItem:
    """Add units to an item's stock."""

    community_id: str
    item_id: str
    units: int
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RetireItem:
    """Take an item off sale for good."""

    community_id: str
    item_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class Redeem:
    """Redeem an item for a resident."""

    community_id: str
    resident_id: str
    item_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class CancelRedemption:
    """Give an unused voucher back for a refund."""

    community_id: str
    redemption_id: str
    reason: str = ""
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ConsumeVoucher:
    """Use a voucher at the partner's counter or with staff."""

    voucher: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class CreateSeatAllocation:
    """Open priority seats at an event for applications."""

    community_id: str
    title: str
    event_at: datetime
    seats: int
    apply_until: datetime
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True)
class ApplyForSeat:
    """A resident applies for a priority seat."""

    community_id: str
    allocation_id: str
    resident_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class AllocateSeats:
    """Allocate the seats by points once applications have closed."""

    community_id: str
    allocation_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class DeclineSeat:
    """A resident gives their seat or place in line up."""

    community_id: str
    allocation_id: str
    resident_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class CreateNomination:
    """Nominate a resident for a district honour."""

    community_id: str
    resident_id: str
    honour: str
    reason: str
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class AdvanceNomination:
    """Take a nomination's next step: endorsed, submitted, awarded or not awarded."""

    community_id: str
    nomination_id: str
    to: NominationState
    note: str = ""
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CreateBenefit:
    """Offer a high-score benefit with its threshold."""

    community_id: str
    id: str
    title: str
    description: str = ""
    min_lifetime: int = 0
    tiers: tuple[str, ...] = ()
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True)
class CreateDefaultBenefits:
    """Offer the policy's default benefits the community does not offer yet."""

    community_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ApplyForBenefit:
    """A resident applies for a benefit."""

    community_id: str
    resident_id: str
    benefit_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class DecideBenefitApplication:
    """Staff grant or refuse an application."""

    community_id: str
    application_id: str
    grant: bool
    note: str = ""
    request_id: str = ""
    actor: Principal
