"""Reservation use cases (R4, E4): hold points, commit or void them, refund them, each once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument, NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent
from linli_points.domain import access
from linli_points.domain.appeals import AppealStatus
from linli_points.domain.reservations import (
    COMMIT_RULE,
    Reservation,
    ReservationState,
    open_reservation,
)
from linli_points.service_layer.commands import RefundReservation, Reserve, SettleReservation
from linli_points.service_layer.ports import PointsUnitOfWork
from linli_points.service_layer.writer import InOwnUnits, Submit

MAX_TTL_SECONDS = 30 * 86400


def _reservation(uow: PointsUnitOfWork, community_id: str, reservation_id: str) -> Reservation:
    found = uow.reservations.get(community_id, reservation_id)
    if found is None:
        raise NotFound(f"no reservation {reservation_id} in {community_id}")
    return found


def _reload(
    uow: PointsUnitOfWork, cmd: Reserve | SettleReservation | RefundReservation, reference: str
) -> Reservation:
    return _reservation(uow, cmd.community_id, reference)


def get_reservation(
    actor: Principal, community_id: str, reservation_id: str, uow: PointsUnitOfWork
) -> Reservation:
    """One reservation and its state, for the rewards service or the resident it holds for."""
    with uow:
        reservation = _reservation(uow, community_id, reservation_id)
    access.require_reservation_reader(actor, community_id, reservation.resident_id)
    return reservation


@idempotent(_reload)
def reserve(cmd: Reserve, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Reservation:
    """Hold points; refused (InsufficientPoints) when the spendable balance is short."""
    access.require_reserver(cmd.actor, cmd.community_id)
    if not 1 <= cmd.ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidArgument("ttl_seconds must be between 1 second and 30 days")
    now = clock()
    reservation = open_reservation(
        community_id=cmd.community_id,
        resident_id=cmd.resident_id,
        amount=cmd.amount,
        sink=cmd.sink,
        memo=cmd.memo,
        at=now,
        expires_at=now + timedelta(seconds=cmd.ttl_seconds),
    )
    uow.ledger.post(reservation.hold())
    uow.reservations.add(reservation)
    return reservation


@idempotent(_reload)
def settle_reservation(
    cmd: SettleReservation, uow: PointsUnitOfWork, clock: Clock = utc_now
) -> Reservation:
    """Commit (spend) or void (release) a pending reservation, exactly once."""
    access.require_reserver(cmd.actor, cmd.community_id)
    reservation = _reservation(uow, cmd.community_id, cmd.reservation_id)
    now = clock()
    transaction = (
        reservation.commit(now) if cmd.commit else reservation.void(now, cmd.reason or "voided")
    )
    uow.ledger.post(transaction)
    uow.reservations.save(reservation)
    return reservation


@idempotent(_reload)
def refund_reservation(
    cmd: RefundReservation, uow: PointsUnitOfWork, clock: Clock = utc_now
) -> Reservation:
    """Give a committed redemption's points back, exactly once (R4)."""
    # The ledger's unique (rule, source) pair would refuse a second r4.refund of the same
    # reservation even if its state were wrong: the points cannot come back twice.
    access.require_reserver(cmd.actor, cmd.community_id)
    reservation = _reservation(uow, cmd.community_id, cmd.reservation_id)
    compensated = _compensated(uow, reservation)
    uow.ledger.post(reservation.refund(clock(), cmd.reason or "refunded", compensated))
    uow.reservations.save(reservation)
    return reservation


def _compensated(uow: PointsUnitOfWork, reservation: Reservation) -> int:
    """What upheld appeals against a reservation's commit gave back (read after its lock)."""
    total = 0
    for appeal in uow.appeals.list(reservation.community_id, resident_id=reservation.resident_id):
        if appeal.status is not AppealStatus.ACCEPTED:
            continue
        disputed = uow.ledger.get(reservation.community_id, appeal.transaction_id)
        if disputed and disputed.rule_id == COMMIT_RULE and disputed.source_id == reservation.id:
            total += appeal.compensation_amount
    return total


def void_if_pending(
    community_id: str, reservation_id: str, now: datetime, uow: PointsUnitOfWork
) -> bool:
    """Void a reservation whose time ran out, if it is still pending; whether it was."""
    with uow:
        reservation = _reservation(uow, community_id, reservation_id)
        if reservation.state is not ReservationState.PENDING:
            return False
        uow.ledger.post(reservation.void(now, "timed out"))
        uow.reservations.save(reservation)
        uow.commit()
    return True


def void_expired(
    uow_factory: Callable[[], PointsUnitOfWork],
    now: datetime,
    limit: int = 100,
    submit: Submit[PointsUnitOfWork] | None = None,
) -> int:
    """Void the pending reservations whose time ran out, through the communities' writers
    (`submit`; else each in a unit of work of its own); returns how many were voided."""
    # Harmless on several replicas at once: each reservation is read locked for update and
    # voided only while still pending, so a second sweep skips it.
    with uow_factory() as uow:
        due = uow.reservations.expired(now, limit)
    write = submit or InOwnUnits(uow_factory)
    answers = [
        write(community_id, functools.partial(void_if_pending, community_id, reservation_id, now))
        for community_id, reservation_id in due
    ]
    return sum(answer.result() for answer in answers)
