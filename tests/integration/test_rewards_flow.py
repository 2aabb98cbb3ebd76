"""Rewards across real processes: redemption sagas against points, vouchers at a partner's counter.

identity, attendance, points and rewards run as OS processes on their own PostgreSQL databases
and one Redis, on mutual TLS (the session's `shared_stack`); residents earn their points the
real way (a paper sign-in sheet → attendance → points), and every test makes its own items.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.partners.v1 import partners_service_pb2 as ptn
from linli.partners.v1 import partners_service_pb2_grpc as ptn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.rewards.v1 import recognition_service_pb2 as rcg
from linli.rewards.v1 import recognition_service_pb2_grpc as rcg_grpc
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc

from linli_kit.testing import Stack as RunningStack
from linli_kit.testing import eventually, load_beside

C = "xinhua"
PARENT = f"communities/{C}"
earning = load_beside(__file__, "earning.py", "linli_integration_earning")
EARNED = earning.EARNED
PRICE = 100
IN_FLIGHT = ("started", "reserved", "issued", "voiding", "refunding")


@dataclass
class Rewards:
    """Stubs acting as the staff member, and a way to act as residents and partners."""

    identity: idn_grpc.IdentityServiceStub
    attendance: att_grpc.AttendanceServiceStub
    points: pts_grpc.PointsServiceStub
    rewards: rwd_grpc.RewardsServiceStub
    running: RunningStack
    engine: sa.Engine  # the rewards database, read by the tests (one connection, kept)
    channels: list[grpc.Channel]

    def _channel(self, token: str | None, service: str = "cli") -> grpc.Channel:
        address = self.running["rewards"].address
        channel = self.running.credentials.channel(address, C, service, token=token)
        self.channels.append(channel)
        return channel

    def _stub(self, token: str | None, service: str = "cli") -> rwd_grpc.RewardsServiceStub:
        return rwd_grpc.RewardsServiceStub(self._channel(token, service))

    def as_resident(self, resident: str) -> rwd_grpc.RewardsServiceStub:
        """Rewards called by the resident themself (their own token)."""
        return self._stub(self.running.credentials.token(C, resident.rpartition("/")[2]))

    def recognition_as(self, resident: str, *roles: str) -> rcg_grpc.RecognitionServiceStub:
        """Recognition called by a resident (their own token, holding the roles)."""
        token = self.running.credentials.token(C, resident.rpartition("/")[2], *roles)
        return rcg_grpc.RecognitionServiceStub(self._channel(token))

    def as_partner(self, partner: str) -> rwd_grpc.RewardsServiceStub:
        """Rewards called from a partner's counter (its certificate, no token)."""
        return self._stub(None, f"partner/{partner}")

    def states(self) -> dict[str, int]:
        """How many redemptions of each state the rewards database holds."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT state, count(*) FROM redemptions GROUP BY state")
            ).all()
        return {state: count for state, count in rows}

    def in_flight(self) -> int:
        """Redemptions whose saga has not finished."""
        return sum(self.states().get(state, 0) for state in IN_FLIGHT)


@pytest.fixture(scope="module")
def stack(shared_stack: RunningStack) -> Iterator[Rewards]:
    """Stubs acting as the community's first social worker, on the session's stack."""
    staff = shared_stack.bootstrap_staff()
    credentials = shared_stack.credentials
    token = credentials.token(C, staff.rpartition("/")[2], "social_worker")
    channels = {
        name: credentials.channel(p.address, C, token=token)
        for name, p in shared_stack.processes.items()
    }
    opened: list[grpc.Channel] = []
    engine = sa.create_engine(shared_stack["rewards"].settings["database_url"], pool_size=1)
    # The partners service says which partners may consume vouchers (their "vouchers" scope).
    partners = ptn_grpc.PartnersServiceStub(channels["partners"])
    for partner in ("p-market", "p-rival"):
        partners.CreatePartner(
            ptn.CreatePartnerRequest(
                parent=PARENT,
                partner_id=partner,
                partner=ptn.Partner(
                    display_name=f"{partner} 超市",
                    kind=ptn.PARTNER_KIND_SUPERMARKET,
                    access=ptn.PartnerAccess(consume_vouchers=True),
                ),
                request_id=f"partner-{partner}",
            )
        )
    yield Rewards(
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
        rwd_grpc.RewardsServiceStub(channels["rewards"]),
        shared_stack,
        engine,
        opened,
    )
    for channel in [*channels.values(), *opened]:
        channel.close()
    engine.dispose()


def _residents(stack: Rewards, count: int) -> list[str]:
    """Residents who each earned EARNED points."""
    return earning.residents_with_points(
        stack.identity, stack.attendance, stack.points, PARENT, count
    )


def _balance(stack: Rewards, resident: str) -> pts.Balance:
    return earning.balance(stack.points, resident)


def _item(stack: Rewards, stock: int, **fields: object) -> rwd.Item:
    item_id = f"t-{uuid.uuid4().hex[:12]}"
    given = rwd.Item(
        title="测试兑换品",
        kind=rwd.ITEM_KIND_VOUCHER,
        price_centipoints=PRICE,
        value_fen=500,
        stock=stock,
        **fields,
    )
    request = rwd.CreateItemRequest(
        parent=PARENT, item_id=item_id, item=given, request_id=str(uuid.uuid4())
    )
    return stack.rewards.CreateItem(request).item


def _redeem(stub: rwd_grpc.RewardsServiceStub, resident: str, item: rwd.Item, request_id: str = ""):
    request = rwd.RedeemRequest(
        parent=resident, item=item.name, request_id=request_id or str(uuid.uuid4())
    )
    return stub.Redeem(request).redemption


def _refusal(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value.code(), refused.value.details()


def _attempt(call: Callable[[], object]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def _stock(stack: Rewards, item: rwd.Item) -> int:
    return stack.rewards.GetItem(rwd.GetItemRequest(name=item.name)).item.stock


def _ledger_verifies(stack: Rewards) -> None:
    report = stack.points.VerifyLedger(pts.VerifyLedgerRequest(parent=PARENT))
    assert report.ok, report


def _decoded(image: bytes, folder: Path) -> str:
    """The text of a QR code image, read by zbar (an independent decoder)."""
    path = folder / "voucher.png"
    path.write_bytes(image)
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, check=True
    )
    return found.stdout.strip()


def test_a_voucher_is_redeemed_shown_and_used_once_at_its_partners_counter(
    stack: Rewards, tmp_path: Path
) -> None:
    """Redeem → QR → the partner checks and consumes it once; others are refused."""
    (alice,) = _residents(stack, 1)
    item = _item(stack, stock=3, partner="p-market")
    as_alice = stack.as_resident(alice)
    request_id = str(uuid.uuid4())

    redemption = _redeem(as_alice, alice, item, request_id)

    assert redemption.state == rwd.REDEMPTION_STATE_ACTIVE
    assert _balance(stack, alice).yearly_centipoints == EARNED - PRICE
    assert _stock(stack, item) == 2
    assert _redeem(as_alice, alice, item, request_id).name == redemption.name  # a retry
    assert _stock(stack, item) == 2 and _balance(stack, alice).yearly_centipoints == 700
    qr = as_alice.RenderVoucher(
        rwd.RenderVoucherRequest(name=redemption.name, format=rwd.IMAGE_FORMAT_PNG)
    )
    assert qr.content_type == "image/png"
    shown = _decoded(qr.image, tmp_path)
    assert shown == redemption.voucher

    counter, rival = stack.as_partner("p-market"), stack.as_partner("p-rival")
    stranger = stack.as_partner("p-unregistered")  # a valid certificate, no partner row
    code, _ = _refusal(lambda: stranger.VerifyVoucher(rwd.VerifyVoucherRequest(voucher=shown)))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    checked = counter.VerifyVoucher(rwd.VerifyVoucherRequest(voucher=shown))
    assert (checked.valid, checked.item) == (True, item.name)
    assert _refusal(lambda: rival.VerifyVoucher(rwd.VerifyVoucherRequest(voucher=shown)))[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    tampered = shown[:-12] + ("A" if shown[-12] != "A" else "B") + shown[-11:]
    code, _ = _refusal(lambda: counter.ConsumeVoucher(rwd.ConsumeVoucherRequest(voucher=tampered)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT

    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda _: _attempt(
                    lambda: counter.ConsumeVoucher(
                        rwd.ConsumeVoucherRequest(voucher=shown, request_id=str(uuid.uuid4()))
                    )
                ),
                range(8),
            )
        )
    assert sorted(codes, key=str) == sorted(
        [grpc.StatusCode.OK] + [grpc.StatusCode.FAILED_PRECONDITION] * 7, key=str
    )
    used = stack.rewards.GetRedemption(rwd.GetRedemptionRequest(name=redemption.name)).redemption
    assert (used.state, used.consumed_by) == (rwd.REDEMPTION_STATE_CONSUMED, "p-market")
    assert _balance(stack, alice).yearly_centipoints == EARNED - PRICE  # spent for good
    _ledger_verifies(stack)


def test_a_cancelled_or_expired_voucher_gives_points_and_stock_back(stack: Rewards) -> None:
    """Cancel one voucher, let another expire unused: both are refunded, their units returned."""
    (bob,) = _residents(stack, 1)
    item = _item(stack, stock=2)
    as_bob = stack.as_resident(bob)
    cancelled, expiring = _redeem(as_bob, bob, item), _redeem(as_bob, bob, item)
    assert _balance(stack, bob).yearly_centipoints == EARNED - 2 * PRICE
    assert _stock(stack, item) == 0

    refunded = as_bob.CancelRedemption(
        rwd.CancelRedemptionRequest(name=cancelled.name, reason="不需要了", request_id="c1")
    ).redemption
    assert refunded.state == rwd.REDEMPTION_STATE_REFUNDED
    assert _balance(stack, bob).yearly_centipoints == EARNED - PRICE
    assert _stock(stack, item) == 1
    # Time passes: the voucher's validity ends, and the recovery job refunds it.
    with stack.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE redemptions SET voucher_expires_at = :past WHERE id = :id"),
            {"past": datetime.now(UTC) - timedelta(minutes=1), "id": expiring.name.rsplit("/")[-1]},
        )
    assert eventually(lambda: _balance(stack, bob).yearly_centipoints, EARNED) == EARNED
    assert _stock(stack, item) == 2
    shown = expiring.voucher
    code, details = _refusal(
        lambda: stack.rewards.ConsumeVoucher(rwd.ConsumeVoucherRequest(voucher=shown))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "refunded" in details
    _ledger_verifies(stack)


def test_fifty_redemptions_of_the_last_ten_units_sell_exactly_ten(stack: Rewards) -> None:
    """50 at once, 10 units: 10 vouchers, 40 clear refusals, 10 × price spent."""
    residents = _residents(stack, 10)
    item = _item(stack, stock=10)
    stubs = {resident: stack.as_resident(resident) for resident in residents}
    attempts = [residents[n % 10] for n in range(50)]

    def redeem(resident: str) -> tuple[grpc.StatusCode, str]:
        try:
            _redeem(stubs[resident], resident, item)
        except grpc.RpcError as exc:
            return exc.code(), exc.details()
        return grpc.StatusCode.OK, ""

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(redeem, attempts))

    codes = [code for code, _ in answers]
    assert codes.count(grpc.StatusCode.OK) == 10
    refusals = [details for code, details in answers if code != grpc.StatusCode.OK]
    assert len(refusals) == 40
    assert all("sold out" in details for details in refusals), [
        d for d in refusals if "sold out" not in d
    ]
    spent = sum(EARNED - _balance(stack, r).yearly_centipoints for r in residents)
    assert spent == 10 * PRICE
    assert all(_balance(stack, r).reserved_centipoints == 0 for r in residents)
    assert _stock(stack, item) == 0
    _ledger_verifies(stack)


def test_a_per_person_limit_holds_under_concurrency(stack: Rewards) -> None:
    """Two a month per person: eight at once by one resident sell two."""
    (carol,) = _residents(stack, 1)
    item = _item(stack, stock=100, monthly_limit=2)
    as_carol = stack.as_resident(carol)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: _attempt(lambda: _redeem(as_carol, carol, item)), range(8)))
    assert codes.count(grpc.StatusCode.OK) == 2
    assert codes.count(grpc.StatusCode.FAILED_PRECONDITION) == 6
    assert _balance(stack, carol).yearly_centipoints == EARNED - 2 * PRICE
    assert _stock(stack, item) == 98


def test_a_redemption_refused_leaves_nothing_behind(stack: Rewards) -> None:
    """Too few points, another resident, a retired item: clear codes, no points or stock move."""
    dave, erin = _residents(stack, 2)
    dear = _item(stack, stock=5)
    as_dave = stack.as_resident(dave)
    pricey = stack.rewards.CreateItem(
        rwd.CreateItemRequest(
            parent=PARENT,
            item_id=f"t-{uuid.uuid4().hex[:12]}",
            item=rwd.Item(
                title="贵", kind=rwd.ITEM_KIND_VOUCHER, price_centipoints=10_000, stock=5
            ),
        )
    ).item
    code, details = _refusal(lambda: _redeem(as_dave, dave, pricey))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "points" in details
    assert _refusal(lambda: _redeem(as_dave, erin, dear))[0] == grpc.StatusCode.PERMISSION_DENIED
    stack.rewards.RetireItem(rwd.RetireItemRequest(name=dear.name, request_id=str(uuid.uuid4())))
    assert _refusal(lambda: _redeem(as_dave, dave, dear))[0] == grpc.StatusCode.FAILED_PRECONDITION
    assert _balance(stack, dave).yearly_centipoints == EARNED
    assert _balance(stack, dave).reserved_centipoints == 0
    assert (_stock(stack, dear), _stock(stack, pricey)) == (5, 5)


def test_killed_mid_saga_every_redemption_is_finished_or_undone(stack: Rewards) -> None:
    """SIGKILL rewards while sagas are in flight: after restart each ends, and points add up."""
    residents = _residents(stack, 6)
    item = _item(stack, stock=30)
    stubs = {resident: stack.as_resident(resident) for resident in residents}
    rewards = stack.running["rewards"]
    before_states = stack.states()

    def redeem(n: int) -> grpc.StatusCode:
        resident = residents[n % len(residents)]
        return _attempt(lambda: _redeem(stubs[resident], resident, item))

    try:
        with ThreadPoolExecutor(24) as pool:
            futures = [pool.submit(redeem, n) for n in range(24)]
            # Kill once some sagas have finished and others are half-way: one read a look, on a
            # connection kept, so that the kill follows what was seen within milliseconds.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                now = stack.states()
                if sum(now.get(s, 0) for s in IN_FLIGHT) >= 3 and now.get(
                    "active", 0
                ) > before_states.get("active", 0):
                    break
                time.sleep(0.002)
            rewards.kill()
            answered = [future.result() for future in futures]
        # Only rewards moves a saga on, so what its database holds now is what was caught.
        caught = {s: n for s, n in stack.states().items() if s in IN_FLIGHT}
    finally:
        rewards.start()  # the session's other tests use this rewards, whatever failed here
    assert sum(caught.values()) >= 1, f"no saga was caught half-way: {caught}"

    assert eventually(stack.in_flight, 0, within=30) == 0
    after = stack.states()
    active = after.get("active", 0) - before_states.get("active", 0)
    spent = sum(EARNED - _balance(stack, r).yearly_centipoints for r in residents)
    assert spent == active * PRICE, (caught, after, answered)
    assert all(_balance(stack, r).reserved_centipoints == 0 for r in residents)
    assert _stock(stack, item) == 30 - active
    _ledger_verifies(stack)
    print(json.dumps({"caught": caught, "active": active, "answered": [c.name for c in answered]}))


def test_seats_go_by_real_yearly_points_and_a_benefit_by_real_lifetime_points(
    stack: Rewards,
) -> None:
    """Points decide: who spent less sits in front; a lifetime threshold lets in or refuses."""
    spent_two, spent_one, spent_none = _residents(stack, 3)
    item = _item(stack, stock=5)
    for resident, times in ((spent_two, 2), (spent_one, 1)):
        for _ in range(times):
            _redeem(stack.as_resident(resident), resident, item)
    staff_stub = stack.recognition_as(stack.running.bootstrap_staff(), "social_worker")
    seats = rcg.SeatAllocation(title="中秋文艺演出 前排", seats=2)
    seats.event_time.FromDatetime(datetime.now(UTC) + timedelta(days=3))
    closes = datetime.now(UTC) + timedelta(seconds=3)
    seats.apply_until_time.FromDatetime(closes)
    allocation = staff_stub.CreateSeatAllocation(
        rcg.CreateSeatAllocationRequest(
            parent=PARENT, allocation=seats, request_id=str(uuid.uuid4())
        )
    ).allocation
    for resident in (spent_none, spent_two, spent_one):
        own = (
            stack.recognition_as(resident)
            .ApplyForSeat(rcg.ApplyForSeatRequest(allocation=allocation.name, resident=resident))
            .allocation
        )
        assert [a.resident for a in own.applicants] == [resident]  # only their own place
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.2)

    allocated = staff_stub.AllocateSeats(rcg.AllocateSeatsRequest(name=allocation.name)).allocation

    assert [(a.resident, a.state, a.points_centipoints) for a in allocated.applicants] == [
        (spent_none, rcg.SEAT_STATE_SEATED, EARNED),
        (spent_one, rcg.SEAT_STATE_SEATED, EARNED - PRICE),
        (spent_two, rcg.SEAT_STATE_WAITING, EARNED - 2 * PRICE),
    ]

    def benefit(threshold: int) -> str:
        return staff_stub.CreateBenefit(
            rcg.CreateBenefitRequest(
                parent=PARENT,
                benefit_id=f"b-{uuid.uuid4().hex[:12]}",
                benefit=rcg.Benefit(title="家庭健康体检套餐", min_lifetime_centipoints=threshold),
            )
        ).benefit.name

    as_resident = stack.recognition_as(spent_two)
    reachable = rcg.ApplyForBenefitRequest(parent=spent_two, benefit=benefit(EARNED))
    application = as_resident.ApplyForBenefit(reachable).application
    assert application.lifetime_centipoints == EARNED  # spending leaves lifetime points be
    granted = staff_stub.DecideBenefitApplication(
        rcg.DecideBenefitApplicationRequest(name=application.name, grant=True)
    ).application
    assert granted.state == rcg.APPLICATION_STATE_GRANTED
    too_high = rcg.ApplyForBenefitRequest(parent=spent_two, benefit=benefit(EARNED + 1))
    code, details = _refusal(lambda: as_resident.ApplyForBenefit(too_high))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "lifetime points" in details
