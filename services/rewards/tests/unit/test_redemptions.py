"""The redemption saga (R4) against the real SQL adapters on SQLite and a fake points."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable
from linli_kit.principals import SYSTEM
from linli_kit.testing import load_beside
from linli_rewards.adapters.vouchers import PasetoVouchers
from linli_rewards.domain.catalogue import ItemKind
from linli_rewards.domain.redemptions import RedemptionState
from linli_rewards.service_layer import catalogue, commands, redemptions
from linli_rewards.service_layer.redemptions import Recovery

fakes = load_beside(__file__, "fakes.py", "linli_rewards_unit_fakes")
C = fakes.C
PRICE = 300


def _item(uow_factory, clock, stock: int = 5, **terms) -> str:
    command = commands.CreateItem(
        community_id=C,
        id=terms.pop("id", "gym-hour"),
        title="健身房 1 小时",
        kind=ItemKind.FACILITY_TIME,
        price=PRICE,
        stock=stock,
        actor=fakes.STAFF,
        **terms,
    )
    return catalogue.create_item(command, uow_factory(), clock).id


def _start(uow_factory, clock, item_id: str, actor=fakes.ALICE, request_id: str = ""):
    resident = actor.resident_id
    command = commands.Redeem(C, resident, item_id, request_id, actor=actor)
    return redemptions.start(command, uow_factory(), clock)


def _redeem(saga, uow_factory, clock, item_id: str, actor=fakes.ALICE):
    started = _start(uow_factory, clock, item_id, actor)
    return saga.drive(C, started.id)


def _stock(uow_factory, item_id: str) -> int:
    with uow_factory() as uow:
        return uow.items.get(C, item_id).stock


def _state(uow_factory, redemption_id: str) -> RedemptionState:
    with uow_factory() as uow:
        return uow.redemptions.get(C, redemption_id).state


def test_a_redemption_spends_the_price_and_takes_one_unit(saga, uow_factory, points, clock):
    item_id = _item(uow_factory, clock)

    done = _redeem(saga, uow_factory, clock, item_id)

    assert done.state is RedemptionState.ACTIVE
    assert done.voucher.startswith("v4.public.")
    assert done.voucher_expires_at == clock.now + timedelta(days=30)
    assert points.balances["r-alice"] == 1000 - PRICE and points.held() == 0
    assert [r.state for r in points.reservations.values()] == ["committed"]
    assert _stock(uow_factory, item_id) == 4


def test_too_few_points_fail_before_anything_is_held(saga, uow_factory, points, clock):
    item_id = _item(uow_factory, clock)
    points.balances["r-alice"] = PRICE - 1

    done = _redeem(saga, uow_factory, clock, item_id)

    assert done.state is RedemptionState.FAILED and "not enough" in done.end_reason
    with pytest.raises(FailedPrecondition, match="not redeemed"):
        done.require_redeemed()
    assert _stock(uow_factory, item_id) == 5 and points.reservations == {}


def test_sold_out_voids_the_reservation(saga, uow_factory, points, clock):
    item_id = _item(uow_factory, clock, stock=0)

    done = _redeem(saga, uow_factory, clock, item_id)

    assert done.state is RedemptionState.VOIDED and "sold out" in done.end_reason
    assert points.balances["r-alice"] == 1000
    assert [r.state for r in points.reservations.values()] == ["voided"]


def test_the_monthly_limit_counts_per_person_and_returns_with_a_refund(
    saga, uow_factory, points, clock
):
    item_id = _item(uow_factory, clock, monthly_limit=1, yearly_limit=2)
    first = _redeem(saga, uow_factory, clock, item_id)
    second = _redeem(saga, uow_factory, clock, item_id)
    assert (first.state, second.state) == (RedemptionState.ACTIVE, RedemptionState.VOIDED)
    assert "per month" in second.end_reason
    assert _redeem(saga, uow_factory, clock, item_id, fakes.BOB).state is RedemptionState.ACTIVE

    cancel = commands.CancelRedemption(C, first.id, "plans changed", actor=fakes.ALICE)
    redemptions.cancel(cancel, uow_factory(), clock)
    assert saga.drive(C, first.id).state is RedemptionState.REFUNDED
    assert points.balances["r-alice"] == 1000
    assert _redeem(saga, uow_factory, clock, item_id).state is RedemptionState.ACTIVE


def test_points_down_at_commit_leaves_the_saga_for_recovery_to_finish(
    saga, uow_factory, points, clock, later
):
    item_id = _item(uow_factory, clock)
    started = _start(uow_factory, clock, item_id)
    points.lose_answers = {"commit"}  # points commits, the answer never arrives

    with pytest.raises(Unavailable):
        saga.drive(C, started.id)
    assert _state(uow_factory, started.id) is RedemptionState.ISSUED

    points.lose_answers = set()
    later(120)
    report = Recovery(saga, stall_seconds=60).sweep(clock.now)

    assert (report.stalled, report.settled) == (1, 1)
    assert _state(uow_factory, started.id) is RedemptionState.ACTIVE
    assert points.calls.count("commit") == 2  # asked again, answered alike
    assert points.balances["r-alice"] == 1000 - PRICE and points.held() == 0


def test_a_lost_reservation_answer_is_found_again_and_undone(
    saga, uow_factory, points, clock, later
):
    """A crash between points holding the price and rewards noting it holds nothing for long."""
    item_id = _item(uow_factory, clock)
    started = _start(uow_factory, clock, item_id)
    points.lose_answers = {"reserve"}
    with pytest.raises(Unavailable):
        saga.drive(C, started.id)
    assert points.held() == PRICE

    points.lose_answers = set()
    later(120)
    Recovery(saga, stall_seconds=60).sweep(clock.now)

    done = _state(uow_factory, started.id)
    assert done is RedemptionState.VOIDED
    assert points.held() == 0 and points.balances["r-alice"] == 1000
    assert len(points.reservations) == 1  # the same reservation, found by its request id
    assert _stock(uow_factory, item_id) == 5


def test_recovery_leaves_a_fresh_saga_alone_and_survives_points_down(
    saga, uow_factory, points, clock, later
):
    item_id = _item(uow_factory, clock)
    started = _start(uow_factory, clock, item_id)
    recovery = Recovery(saga, stall_seconds=60)
    assert recovery.sweep(clock.now).stalled == 0

    points.down = True
    later(120)
    report = recovery.sweep(clock.now)
    assert (report.stalled, report.failed) == (1, 1)
    points.down = False
    later(120)
    recovery.sweep(clock.now)
    assert _state(uow_factory, started.id) is RedemptionState.VOIDED


def test_an_expired_voucher_is_refunded_and_its_unit_returned(
    saga, uow_factory, points, clock, later
):
    item_id = _item(uow_factory, clock, voucher_valid_days=1)
    done = _redeem(saga, uow_factory, clock, item_id)
    later(86400)

    report = Recovery(saga, stall_seconds=60).sweep(clock.now)

    assert report.expired == 1
    assert _state(uow_factory, done.id) is RedemptionState.REFUNDED
    assert points.balances["r-alice"] == 1000 and _stock(uow_factory, item_id) == 5


def test_a_retry_of_redeem_is_the_same_redemption(saga, uow_factory, points, clock):
    item_id = _item(uow_factory, clock)
    first = _start(uow_factory, clock, item_id, request_id="once")
    again = _start(uow_factory, clock, item_id, request_id="once")
    assert again.id == first.id


def test_a_resident_redeems_only_for_themself(saga, uow_factory, clock):
    item_id = _item(uow_factory, clock)
    for_alice = commands.Redeem(C, "r-alice", item_id, actor=fakes.BOB)
    with pytest.raises(PermissionDenied):
        redemptions.start(for_alice, uow_factory(), clock)
    by_staff = commands.Redeem(C, "r-alice", item_id, actor=fakes.STAFF)
    assert redemptions.start(by_staff, uow_factory(), clock).resident_id == "r-alice"


def _consume(uow_factory, signer, clock, voucher: str, actor, request_id: str = ""):
    command = commands.ConsumeVoucher(voucher, request_id, actor=actor)
    return redemptions.consume(command, uow_factory(), signer, clock)


def test_a_voucher_is_consumed_once_by_its_own_partner(saga, uow_factory, signer, clock):
    item_id = _item(uow_factory, clock, partner_id="p-market")
    voucher = _redeem(saga, uow_factory, clock, item_id).voucher
    with pytest.raises(PermissionDenied, match="another partner"):
        _consume(uow_factory, signer, clock, voucher, fakes.partner("p-rival"))
    with pytest.raises(PermissionDenied):
        _consume(uow_factory, signer, clock, voucher, fakes.STAFF)

    used = _consume(uow_factory, signer, clock, voucher, fakes.partner("p-market"), "u1")

    assert (used.state, used.consumed_by) == (RedemptionState.CONSUMED, "p-market")
    assert _consume(uow_factory, signer, clock, voucher, fakes.partner("p-market"), "u1").id == (
        used.id
    )  # a retry of the same consumption
    with pytest.raises(FailedPrecondition, match="already used"):
        _consume(uow_factory, signer, clock, voucher, fakes.partner("p-market"), "u2")


def test_the_communitys_own_voucher_is_consumed_by_staff(saga, uow_factory, signer, clock):
    voucher = _redeem(saga, uow_factory, clock, _item(uow_factory, clock)).voucher
    with pytest.raises(PermissionDenied):
        _consume(uow_factory, signer, clock, voucher, fakes.partner("p-market"))
    assert _consume(uow_factory, signer, clock, voucher, fakes.STAFF).consumed_by == (
        fakes.STAFF.subject
    )


def test_a_voucher_of_another_key_or_altered_is_not_ours(saga, uow_factory, signer, clock):
    voucher = _redeem(saga, uow_factory, clock, _item(uow_factory, clock)).voucher
    foreign = PasetoVouchers({"dev": bytes(32)}, "dev")
    forged = foreign.sign(signer.read(voucher))
    for bad in (forged, voucher[:-20] + voucher[-19:] + "A", "v4.public.e30", "", "x" * 50):
        with pytest.raises(InvalidArgument, match="not a voucher"):
            _consume(uow_factory, signer, clock, bad, SYSTEM)


def test_an_item_outside_its_sale_window_is_not_redeemed(saga, uow_factory, points, clock, later):
    item_id = _item(
        uow_factory,
        clock,
        sale_starts_at=clock.now + timedelta(hours=1),
        sale_ends_at=clock.now + timedelta(hours=2),
    )
    with pytest.raises(FailedPrecondition, match="not on sale"):
        _start(uow_factory, clock, item_id)
    later(3600)
    started = _start(uow_factory, clock, item_id)
    later(3600)  # the window closes while the points are being reserved
    done = saga.drive(C, started.id)
    assert done.state is RedemptionState.VOIDED and "no longer on sale" in done.end_reason
    assert points.balances["r-alice"] == 1000 and _stock(uow_factory, item_id) == 5


def test_a_resident_points_does_not_know_fails_at_once_and_leaves_nothing_stuck(
    saga, uow_factory, points, clock, later
):
    item_id = _item(uow_factory, clock)
    stranger = fakes.person("r-nobody")
    done = _redeem(saga, uow_factory, clock, item_id, stranger)
    assert done.state is RedemptionState.FAILED and "no resident" in done.end_reason
    assert Recovery(saga, stall_seconds=60).sweep(clock.now + timedelta(hours=1)).stalled == 0
    assert _stock(uow_factory, item_id) == 5
