"""Use cases of recognition (R2): priority seats at events, nominations for district honours."""

from __future__ import annotations

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_rewards.domain import access
from linli_rewards.domain.recognition import Nomination, NominationState, SeatAllocation
from linli_rewards.service_layer.commands import (
    AdvanceNomination,
    AllocateSeats,
    ApplyForSeat,
    CreateNomination,
    CreateSeatAllocation,
    DeclineSeat,
)
from linli_rewards.service_layer.ports import Points, RewardsUnitOfWork

SeatCommand = CreateSeatAllocation | ApplyForSeat | AllocateSeats | DeclineSeat


def allocation(uow: RewardsUnitOfWork, community_id: str, allocation_id: str) -> SeatAllocation:
    """An allocation of the community, locked for update, or NotFound."""
    found = uow.seats.get(community_id, allocation_id)
    if found is None:
        raise NotFound(f"no seat allocation {allocation_id} in {community_id}")
    return found


def nomination(uow: RewardsUnitOfWork, community_id: str, nomination_id: str) -> Nomination:
    """A nomination of the community, locked for update, or NotFound."""
    found = uow.nominations.get(community_id, nomination_id)
    if found is None:
        raise NotFound(f"no nomination {nomination_id} in {community_id}")
    return found


def _reload_seats(uow: RewardsUnitOfWork, cmd: SeatCommand, ref: str) -> SeatAllocation:
    return allocation(uow, cmd.community_id, ref)


def _reload_nomination(
    uow: RewardsUnitOfWork, cmd: CreateNomination | AdvanceNomination, ref: str
) -> Nomination:
    return nomination(uow, cmd.community_id, ref)


@idempotent(_reload_seats)
def create_seat_allocation(
    cmd: CreateSeatAllocation, uow: RewardsUnitOfWork, clock: Clock = utc_now
) -> SeatAllocation:
    """Staff open priority seats at an event."""
    access.require_staff(cmd.actor, cmd.community_id)
    opened = SeatAllocation.open(
        cmd.community_id, cmd.title, cmd.event_at, cmd.seats, cmd.apply_until, clock()
    )
    uow.seats.add(opened)
    return opened


@idempotent(_reload_seats)
def apply_for_seat(
    cmd: ApplyForSeat, uow: RewardsUnitOfWork, clock: Clock = utc_now
) -> SeatAllocation:
    """A resident (or staff for them) applies while applications are open."""
    access.require_self_or_staff(cmd.actor, cmd.community_id, cmd.resident_id)
    found = allocation(uow, cmd.community_id, cmd.allocation_id)
    found.apply(cmd.resident_id, clock())
    uow.seats.save(found)
    return found


@idempotent(_reload_seats)
def allocate_seats(
    cmd: AllocateSeats, uow: RewardsUnitOfWork, points: Points, clock: Clock = utc_now
) -> SeatAllocation:
    """Staff allocate the seats by the applicants' yearly points (asked of points now)."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = allocation(uow, cmd.community_id, cmd.allocation_id)
    now = clock()
    found.require_allocatable(now)
    yearly = {
        a.resident_id: points.standing(cmd.community_id, a.resident_id).yearly
        for a in found.applicants
    }
    found.allocate(yearly, now)
    uow.seats.save(found)
    return found


@idempotent(_reload_seats)
def decline_seat(cmd: DeclineSeat, uow: RewardsUnitOfWork) -> SeatAllocation:
    """A resident (or staff for them) gives a seat up; the first one waiting takes it."""
    access.require_self_or_staff(cmd.actor, cmd.community_id, cmd.resident_id)
    found = allocation(uow, cmd.community_id, cmd.allocation_id)
    found.decline(cmd.resident_id)
    uow.seats.save(found)
    return found


def get_seat_allocation(
    actor: Principal, community_id: str, allocation_id: str, uow: RewardsUnitOfWork
) -> SeatAllocation:
    """An allocation of the caller's community (the API shows a resident only their place)."""
    require_community(actor, community_id)
    with uow:
        return allocation(uow, community_id, allocation_id)


@idempotent(_reload_nomination)
def create_nomination(
    cmd: CreateNomination, uow: RewardsUnitOfWork, clock: Clock = utc_now
) -> Nomination:
    """Staff nominate a resident for a district honour."""
    access.require_staff(cmd.actor, cmd.community_id)
    nominated = Nomination.nominate(
        cmd.community_id, cmd.resident_id, cmd.honour, cmd.reason, cmd.actor.resident_id, clock()
    )
    uow.nominations.add(nominated)
    return nominated


@idempotent(_reload_nomination)
def advance_nomination(
    cmd: AdvanceNomination, uow: RewardsUnitOfWork, clock: Clock = utc_now
) -> Nomination:
    """The committee endorses; staff submit and record the district's decision."""
    if cmd.to is NominationState.ENDORSED:
        access.require_committee(cmd.actor, cmd.community_id)
    else:
        access.require_staff(cmd.actor, cmd.community_id)
    found = nomination(uow, cmd.community_id, cmd.nomination_id)
    found.advance(cmd.to, cmd.actor.resident_id, clock(), cmd.note)
    uow.nominations.save(found)
    return found


def get_nomination(
    actor: Principal, community_id: str, nomination_id: str, uow: RewardsUnitOfWork
) -> Nomination:
    """A nomination for staff, the committee or the nominee."""
    with uow:
        found = nomination(uow, community_id, nomination_id)
    access.require_nomination_reader(actor, community_id, found.resident_id)
    return found


def list_nominations(
    actor: Principal, community_id: str, offset: int, limit: int, uow: RewardsUnitOfWork
) -> tuple[list[Nomination], bool]:
    """A page of nominations, newest first, for staff and the committee; and whether more."""
    access.require_nomination_reader(actor, community_id, nominee_id="")
    with uow:
        found = uow.nominations.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit
