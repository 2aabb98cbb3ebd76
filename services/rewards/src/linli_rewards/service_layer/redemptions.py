"""Use cases of redemption (R4): start a saga, drive it to an end, cancel, consume, recover.

A step first calls points (idempotent by a request id derived from the redemption), then
moves the redemption in one local transaction that is stored only if nobody moved it first.
Stock and the per-person counts move by conditional updates in the same transaction as the
state, so they are taken and returned exactly once. A saga that points could not finish is
left where it stands; the recovery sweep finishes it (from ISSUED on) or undoes it (before).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent
from linli_rewards.domain import access
from linli_rewards.domain.catalogue import Item
from linli_rewards.domain.redemptions import FINAL, IN_FLIGHT, Redemption, RedemptionState
from linli_rewards.domain.vouchers import VoucherClaims
from linli_rewards.service_layer.catalogue import item
from linli_rewards.service_layer.commands import CancelRedemption, ConsumeVoucher, Redeem
from linli_rewards.service_layer.ports import Hold, Points, RewardsUnitOfWork, VoucherSigner

log = logging.getLogger(__name__)
# A saga needs at most six steps (reserve, stock, commit, or undo and void); more is a bug.
MAX_STEPS = 8
# Points hold the price this long; a saga not committed by then is undone.
RESERVATION_TTL_SECONDS = 600
# Points' answers that it will not hold the price (too few points, no such resident, a request
# it cannot take): unlike Unavailable, asking again changes nothing.
REFUSALS = (FailedPrecondition, NotFound, InvalidArgument)


def redemption(uow: RewardsUnitOfWork, community_id: str, redemption_id: str) -> Redemption:
    """A redemption of the community, or NotFound."""
    found = uow.redemptions.get(community_id, redemption_id)
    if found is None:
        raise NotFound(f"no redemption {redemption_id} in {community_id}")
    return found


def _reload(uow: RewardsUnitOfWork, cmd: Redeem | CancelRedemption, ref: str) -> Redemption:
    return redemption(uow, cmd.community_id, ref)


@idempotent(_reload)
def start(cmd: Redeem, uow: RewardsUnitOfWork, clock: Clock = utc_now) -> Redemption:
    """Record a resident's redemption of an item on sale (the saga is driven next)."""
    access.require_self_or_staff(cmd.actor, cmd.community_id, cmd.resident_id)
    new = Redemption.start(cmd.resident_id, item(uow, cmd.community_id, cmd.item_id), clock())
    uow.redemptions.add(new)
    return new


@idempotent(_reload)
def cancel(cmd: CancelRedemption, uow: RewardsUnitOfWork, clock: Clock = utc_now) -> Redemption:
    """The resident or staff give an unused voucher back (the refund is driven next)."""
    found = redemption(uow, cmd.community_id, cmd.redemption_id)
    access.require_self_or_staff(cmd.actor, cmd.community_id, found.resident_id)
    was = found.state
    if found.cancel(cmd.reason, clock()):
        _return_stock(uow, found)
    if not uow.redemptions.move(found, was):
        raise Unavailable("the redemption changed meanwhile; retry")
    return found


def get(
    actor: Principal, community_id: str, redemption_id: str, uow: RewardsUnitOfWork
) -> Redemption:
    """A redemption, for its resident or staff."""
    with uow:
        found = redemption(uow, community_id, redemption_id)
    access.require_self_or_staff(actor, community_id, found.resident_id)
    return found


def of_resident(
    actor: Principal,
    community_id: str,
    resident_id: str,
    offset: int,
    limit: int,
    uow: RewardsUnitOfWork,
) -> tuple[list[Redemption], bool]:
    """A page of a resident's redemptions, newest first, and whether more follow."""
    access.require_self_or_staff(actor, community_id, resident_id)
    with uow:
        found = uow.redemptions.of_resident(community_id, resident_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def _return_stock(uow: RewardsUnitOfWork, found: Redemption) -> None:
    """Put back the unit and the per-person counts a redemption held."""
    uow.items.return_unit(found.community_id, found.item_id)
    for period in found.periods:
        uow.limits.uncount(found.community_id, found.resident_id, found.item_id, period)


# A change to a redemption inside a unit of work; False leaves everything as it was.
Change = Callable[[Redemption, RewardsUnitOfWork], bool | None]


class Saga:
    """Drives redemptions through their steps; safe to run on several requests and replicas."""

    def __init__(
        self,
        uow_factory: Callable[[], RewardsUnitOfWork],
        points: Points,
        signer: VoucherSigner,
        clock: Clock = utc_now,
        on_sold_out: Callable[[str, str], None] = lambda community_id, item_id: None,
    ) -> None:
        self.uow_factory, self.points, self.signer, self.clock = uow_factory, points, signer, clock
        self.on_sold_out = on_sold_out

    def drive(self, community_id: str, redemption_id: str) -> Redemption:
        """Take the redemption step by step to ACTIVE or an end; Unavailable if points is down."""
        for _ in range(MAX_STEPS):
            with self.uow_factory() as uow:
                current = redemption(uow, community_id, redemption_id)
            if current.state in FINAL or current.state is RedemptionState.ACTIVE:
                return current
            self._step(current)
        raise Unavailable(f"redemption {redemption_id} did not settle; the recovery job will")

    def _step(self, current: Redemption) -> None:
        match current.state:
            case RedemptionState.STARTED:
                self._reserve(current)
            case RedemptionState.RESERVED:
                self._issue(current)
            case RedemptionState.ISSUED:
                self._commit(current)
            case RedemptionState.VOIDING:
                self._void(current)
            case RedemptionState.REFUNDING:
                self._refund(current)

    def _move(self, seen: Redemption, change: Change) -> bool:
        """Apply a change to the stored redemption if it is still as seen; True if stored."""
        with self.uow_factory() as uow:
            fresh = redemption(uow, seen.community_id, seen.id)
            if fresh.state is not seen.state:
                return False
            was = fresh.state
            if change(fresh, uow) is False:
                return False
            if not uow.redemptions.move(fresh, was):
                return False
            uow.commit()
            return True

    def _undo(self, seen: Redemption, reason: str) -> None:
        def undo(fresh: Redemption, uow: RewardsUnitOfWork) -> None:
            if fresh.undo(reason, self.clock()):
                _return_stock(uow, fresh)

        self._move(seen, undo)

    def _hold(self, seen: Redemption) -> Hold:
        """Ask points to hold the price (the same answer every time for this redemption)."""
        return self.points.reserve(
            seen.community_id,
            seen.resident_id,
            seen.price,
            f"redemption {seen.id}: {seen.item_title}"[:300],
            RESERVATION_TTL_SECONDS,
            seen.request_id("reserve"),
        )

    def _reserve(self, seen: Redemption) -> None:
        try:
            hold = self._hold(seen)
        except REFUSALS as refusal:
            reason = str(refusal)
            self._move(seen, lambda fresh, uow: fresh.refused(reason, self.clock()))
            return
        if hold.state != "pending":
            self._undo(seen, f"the points reservation was {hold.state}")
            return
        self._move(seen, lambda fresh, uow: fresh.reserved(hold.reservation_id, self.clock()))

    def _issue(self, seen: Redemption) -> None:
        now = self.clock()
        reason = ""

        def take(fresh: Redemption, uow: RewardsUnitOfWork) -> bool | None:
            nonlocal reason
            reason = self._take_unit(uow, fresh, now)
            if reason:
                return False
            stocked = item(uow, fresh.community_id, fresh.item_id)
            expires_at = stocked.voucher_expiry(now)
            voucher = self.signer.sign(
                VoucherClaims(
                    fresh.community_id, fresh.id, fresh.item_id, fresh.partner_id, now, expires_at
                )
            )
            fresh.issue(voucher, expires_at, now)
            return None

        if not self._move(seen, take) and reason:
            self._undo(seen, reason)

    def _take_unit(self, uow: RewardsUnitOfWork, fresh: Redemption, now: datetime) -> str:
        """Take a unit and count the redemption against the limits; why not, or ''."""
        stocked: Item = item(uow, fresh.community_id, fresh.item_id)
        if not stocked.on_sale(now):
            return f"item {stocked.id} is no longer on sale"
        month, year = fresh.periods
        for period, limit, span in (
            (month, stocked.monthly_limit, "month"),
            (year, stocked.yearly_limit, "year"),
        ):
            if not uow.limits.count(
                fresh.community_id, fresh.resident_id, fresh.item_id, period, limit
            ):
                return f"limit of {limit} per person per {span} reached for {stocked.id}"
        left = uow.items.take_unit(fresh.community_id, fresh.item_id, now)
        if left is None:
            self.on_sold_out(fresh.community_id, fresh.item_id)
            return f"{stocked.id} is sold out"
        return ""

    def _commit(self, seen: Redemption) -> None:
        try:
            self.points.commit(seen.community_id, seen.reservation_id, seen.request_id("commit"))
        except FailedPrecondition as refusal:
            self._undo(seen, f"points would not spend the reservation: {refusal}")
            return
        self._move(seen, lambda fresh, uow: fresh.activate(self.clock()))

    def _void(self, seen: Redemption) -> None:
        reservation_id = seen.reservation_id
        if not reservation_id:
            # A crash may have come between points holding the price and this service noting
            # it: asking again with the same request id names that reservation, or holds none.
            try:
                reservation_id = self._hold(seen).reservation_id
            except REFUSALS:
                reservation_id = ""
        if reservation_id:
            self._release(seen, reservation_id)
        self._move(seen, lambda fresh, uow: fresh.voided(self.clock()))

    def _release(self, seen: Redemption, reservation_id: str) -> None:
        """Void the reservation; one already voided is fine, one spent is refunded."""
        try:
            self.points.void(
                seen.community_id, reservation_id, seen.end_reason[:300], seen.request_id("void")
            )
        except FailedPrecondition:
            hold = self.points.get(seen.community_id, reservation_id)
            if hold.state == "committed":
                self.points.refund(
                    seen.community_id,
                    reservation_id,
                    seen.end_reason[:300],
                    seen.request_id("refund"),
                )
            elif hold.state != "voided":
                raise

    def _refund(self, seen: Redemption) -> None:
        try:
            self.points.refund(
                seen.community_id,
                seen.reservation_id,
                seen.end_reason[:300],
                seen.request_id("refund"),
            )
        except FailedPrecondition:
            if self.points.get(seen.community_id, seen.reservation_id).state != "refunded":
                raise
        self._move(seen, lambda fresh, uow: fresh.refunded(self.clock()))

    def abandon(self, community_id: str, redemption_id: str) -> None:
        """Undo a saga that did not reach ISSUED in time (from ISSUED on it is finished)."""
        with self.uow_factory() as uow:
            found = redemption(uow, community_id, redemption_id)
        if found.state in (RedemptionState.STARTED, RedemptionState.RESERVED):
            self._undo(found, "not finished in time; undone by recovery")

    def expire(self, community_id: str, redemption_id: str, now: datetime) -> None:
        """Refund an active voucher past its validity and return its unit."""
        with self.uow_factory() as uow:
            found = redemption(uow, community_id, redemption_id)

        def expire(fresh: Redemption, uow: RewardsUnitOfWork) -> None:
            if fresh.expire(now):
                _return_stock(uow, fresh)

        self._move(found, expire)


def _require_voucher(actor: Principal, found: Redemption, voucher: str) -> None:
    """The caller fulfils the voucher's item, and the voucher is the one issued."""
    access.require_fulfiller(actor, found.community_id, found.partner_id)
    if found.voucher and found.voucher != voucher:
        raise InvalidArgument("not a voucher issued by this community")


def _consume_reload(uow: RewardsUnitOfWork, cmd: ConsumeVoucher, ref: str) -> Redemption:
    community_id, _, redemption_id = ref.partition("/")
    return redemption(uow, community_id, redemption_id)


@idempotent(_consume_reload, reference=lambda r: f"{r.community_id}/{r.id}")
def consume(
    cmd: ConsumeVoucher, uow: RewardsUnitOfWork, signer: VoucherSigner, clock: Clock = utc_now
) -> Redemption:
    """A partner or staff use a voucher, once: one conditional update from ACTIVE."""
    claims = signer.read(cmd.voucher)
    found = redemption(uow, claims.community_id, claims.redemption_id)
    _require_voucher(cmd.actor, found, cmd.voucher)
    was = found.state
    found.consume(cmd.actor.subject, clock())
    if not uow.redemptions.move(found, was):
        raise FailedPrecondition("voucher already used")
    return found


def verify(
    actor: Principal, voucher: str, uow: RewardsUnitOfWork, signer: VoucherSigner
) -> Redemption:
    """The redemption a voucher is for, if the caller fulfils its item."""
    claims = signer.read(voucher)
    with uow:
        found = redemption(uow, claims.community_id, claims.redemption_id)
    _require_voucher(actor, found, voucher)
    return found


@dataclass(frozen=True)
class SweepReport:
    """What one recovery sweep did."""

    stalled: int
    expired: int
    settled: int
    failed: int


class Recovery:
    """Finishes or undoes the sagas a crash or an outage left half-way, and refunds expiries."""

    def __init__(self, saga: Saga, stall_seconds: float, batch: int = 100) -> None:
        self.saga, self.stall_seconds, self.batch = saga, stall_seconds, batch

    def sweep(self, now: datetime) -> SweepReport:
        """One pass over the stalled sagas and the expired vouchers (at most `batch` each)."""
        saga = self.saga
        with saga.uow_factory() as uow:
            stalled = uow.redemptions.stalled(
                IN_FLIGHT, now - timedelta(seconds=self.stall_seconds), self.batch
            )
            expired = uow.redemptions.expired(now, self.batch)
        settled = failed = 0
        for community_id, redemption_id, expiring in (
            *((c, r, False) for c, r in stalled),
            *((c, r, True) for c, r in expired),
        ):
            try:
                if expiring:
                    saga.expire(community_id, redemption_id, now)
                else:
                    saga.abandon(community_id, redemption_id)
                saga.drive(community_id, redemption_id)
                settled += 1
            except DomainError as exc:  # points down or refusing: the next sweep tries again
                failed += 1
                log.warning("redemption %s not settled yet: %s", redemption_id, exc)
        return SweepReport(len(stalled), len(expired), settled, failed)
