"""What the rewards use cases need from the outside world."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from linli_kit.domain import AbstractUnitOfWork, Repository
from linli_rewards.domain.benefits import Benefit, BenefitApplication, Standing
from linli_rewards.domain.catalogue import Item
from linli_rewards.domain.recognition import Nomination, SeatAllocation
from linli_rewards.domain.redemptions import Redemption, RedemptionState
from linli_rewards.domain.vouchers import VoucherClaims


@dataclass(frozen=True)
class Hold:
    """A points reservation: its id and state (pending, committed, voided or refunded)."""

    reservation_id: str
    state: str


class Points(Protocol):
    """The points service's reservations (blocking calls; used from worker threads).

    Refusals keep their meaning (FailedPrecondition: too few points, timed out, already
    settled); anything else is Unavailable. Each call is idempotent by its request id.
    """

    def reserve(
        self,
        community_id: str,
        resident_id: str,
        amount: int,
        memo: str,
        ttl_seconds: int,
        request_id: str,
    ) -> Hold:
        """Hold points of a resident."""
        ...

    def get(self, community_id: str, reservation_id: str) -> Hold:
        """A reservation's state."""
        ...

    def standing(self, community_id: str, resident_id: str) -> Standing:
        """A resident's yearly and lifetime points and honour tier."""
        ...

    def commit(self, community_id: str, reservation_id: str, request_id: str) -> Hold:
        """Spend a held amount."""
        ...

    def void(self, community_id: str, reservation_id: str, reason: str, request_id: str) -> Hold:
        """Release a held amount."""
        ...

    def refund(self, community_id: str, reservation_id: str, reason: str, request_id: str) -> Hold:
        """Give a spent amount back."""
        ...


class VoucherSigner(Protocol):
    """Signs vouchers and reads them back."""

    def sign(self, claims: VoucherClaims) -> str:
        """The voucher text (it goes into the QR code)."""
        ...

    def read(self, voucher: str) -> VoucherClaims:
        """The claims of a voucher signed here; InvalidArgument if it was not (or was altered)."""
        ...

    def public_keys(self) -> list[tuple[str, str]]:
        """(key id, PASERK) of every key a voucher may be signed with, current first."""
        ...


class Items(Repository, abc.ABC):
    """Stored catalogue items; stock moves only by conditional updates."""

    @abc.abstractmethod
    def add(self, item: Item) -> None:
        """Store a new item; AlreadyExists if its id is taken."""

    @abc.abstractmethod
    def get(self, community_id: str, item_id: str) -> Item | None:
        """An item by id, or None."""

    @abc.abstractmethod
    def page(
        self, community_id: str, on_sale_at: datetime | None, offset: int, limit: int
    ) -> list[Item]:
        """A community's items by id (only those on sale at the time, if given)."""

    @abc.abstractmethod
    def save(self, item: Item) -> None:
        """Store an item's restock or retirement."""

    @abc.abstractmethod
    def take_unit(self, community_id: str, item_id: str, at: datetime) -> int | None:
        """Take one unit if one is left and the item is on sale: the units left, else None."""

    @abc.abstractmethod
    def return_unit(self, community_id: str, item_id: str) -> None:
        """Put one unit back."""


class Limits(abc.ABC):
    """Per-person redemption counts per item and period, moved by conditional updates."""

    @abc.abstractmethod
    def count(
        self, community_id: str, resident_id: str, item_id: str, period: str, limit: int
    ) -> bool:
        """Count one more redemption unless `limit` is reached; True if counted."""

    @abc.abstractmethod
    def uncount(self, community_id: str, resident_id: str, item_id: str, period: str) -> None:
        """Take one redemption off the count."""


class Redemptions(Repository, abc.ABC):
    """Stored redemptions; a state change is stored only from the state it was read in."""

    @abc.abstractmethod
    def add(self, redemption: Redemption) -> None:
        """Store a new redemption."""

    @abc.abstractmethod
    def get(self, community_id: str, redemption_id: str) -> Redemption | None:
        """A redemption by id, or None."""

    @abc.abstractmethod
    def of_resident(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[Redemption]:
        """A resident's redemptions, newest first."""

    @abc.abstractmethod
    def move(self, redemption: Redemption, was: RedemptionState) -> bool:
        """Store the redemption if it is still in state `was`; False if someone moved it."""

    @abc.abstractmethod
    def stalled(
        self, states: frozenset[RedemptionState], untouched_since: datetime, limit: int
    ) -> list[tuple[str, str]]:
        """(community, id) of redemptions in the states not updated since the time."""

    @abc.abstractmethod
    def expired(self, at: datetime, limit: int) -> list[tuple[str, str]]:
        """(community, id) of active redemptions whose voucher has expired by the time."""

    @abc.abstractmethod
    def in_flight(self) -> int:
        """How many redemptions are in a state the saga has not finished."""


class SeatAllocations(Repository, abc.ABC):
    """Stored seat allocations with their applicants."""

    @abc.abstractmethod
    def add(self, allocation: SeatAllocation) -> None:
        """Store a new allocation."""

    @abc.abstractmethod
    def get(self, community_id: str, allocation_id: str) -> SeatAllocation | None:
        """An allocation by id, locked for update until the unit of work ends, or None."""

    @abc.abstractmethod
    def save(self, allocation: SeatAllocation) -> None:
        """Store an allocation's applicants and allocation."""


class Nominations(Repository, abc.ABC):
    """Stored nominations with their steps."""

    @abc.abstractmethod
    def add(self, nomination: Nomination) -> None:
        """Store a new nomination."""

    @abc.abstractmethod
    def get(self, community_id: str, nomination_id: str) -> Nomination | None:
        """A nomination by id, locked for update until the unit of work ends, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[Nomination]:
        """A community's nominations, newest first."""

    @abc.abstractmethod
    def save(self, nomination: Nomination) -> None:
        """Store a nomination's steps."""


class Benefits(abc.ABC):
    """Stored benefits and the applications for them."""

    @abc.abstractmethod
    def add(self, benefit: Benefit) -> None:
        """Store a new benefit; AlreadyExists if its id is taken."""

    @abc.abstractmethod
    def get(self, community_id: str, benefit_id: str) -> Benefit | None:
        """A benefit by id, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[Benefit]:
        """A community's benefits by id."""

    @abc.abstractmethod
    def add_application(self, application: BenefitApplication) -> None:
        """Store a new application; FailedPrecondition if one of the resident's is pending."""

    @abc.abstractmethod
    def application(self, community_id: str, application_id: str) -> BenefitApplication | None:
        """An application by id, locked for update until the unit of work ends, or None."""

    @abc.abstractmethod
    def applications(
        self, community_id: str, resident_id: str | None, offset: int, limit: int
    ) -> list[BenefitApplication]:
        """A community's (or one resident's) applications, newest first."""

    @abc.abstractmethod
    def save_application(self, application: BenefitApplication) -> None:
        """Store an application's decision."""


class RewardsUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over the catalogue, redemptions, recognition and benefits."""

    items: Items
    limits: Limits
    redemptions: Redemptions
    seats: SeatAllocations
    nominations: Nominations
    benefits: Benefits
