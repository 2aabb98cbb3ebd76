"""Every mutating PointsService RPC replays a retry and refuses its request id reused otherwise,
also by another caller (a request id is one caller's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import grpc
import pytest
from google.protobuf.message import Message
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit.principals import Role
from linli_kit.testing import assert_retry_replays, load_beside, mutating_methods
from linli_points.domain.rules import ServiceType
from linli_points.service_layer import commands, earning

C = "c-east"
COMMUNITY = f"communities/{C}"
ALICE = f"{COMMUNITY}/residents/r-alice"
METHODS = mutating_methods(pb.DESCRIPTOR.services_by_name["PointsService"])
Samples = tuple[Message, Message | None]
fakes = load_beside(__file__, "fakes.py", "linli_points_unit_fakes")


def rewards(app) -> pb_grpc.PointsServiceStub:
    """The community's rewards service, which alone reserves and settles."""
    return app.service(C, "rewards")


def alice(app) -> pb_grpc.PointsServiceStub:
    """Alice, signed in."""
    return app.person(C, "r-alice", Role.RESIDENT)


def judge(app) -> pb_grpc.PointsServiceStub:
    """The committee member (seated by identity's grant in the sample)."""
    return app.person(C, "r-judge", Role.RESIDENT, Role.COMMITTEE_MEMBER)


def social_worker(app) -> pb_grpc.PointsServiceStub:
    """The community's social worker, who runs the closes and rebuilds."""
    return app.person(C, "r-sw", Role.SOCIAL_WORKER)


def earn(app, hours: int = 3) -> str:
    """Give Alice regular hours (straight through the fake unit of work); the award's id."""
    award = earning.award_for_session(
        commands.AwardForSession(
            event_id=f"e-{hours}",
            community_id=C,
            resident_id="r-alice",
            session=f"{COMMUNITY}/activities/a1/sessions/s-{hours}",
            service_type=ServiceType.REGULAR,
            duration_seconds=hours * 3600,
            signed_in_at=app.now - timedelta(days=9),
        ),
        app.uow,
    )
    assert award is not None
    return award.id


async def reservation(app) -> str:
    """A pending reservation of Alice's points; its name."""
    earn(app)
    made = await rewards(app).CreateReservation(
        pb.CreateReservationRequest(
            parent=ALICE, amount_centipoints=100, sink=pb.SINK_REWARDS, request_id="setup"
        )
    )
    return made.reservation.name


async def appeal(app) -> str:
    """An appeal of Alice's against her award, with a committee to decide it; its name."""
    transaction = f"{COMMUNITY}/transactions/{earn(app)}"
    await fakes.seat_on_committee(app, C, "r-judge", app.now)
    filed = await alice(app).CreateAppeal(
        pb.CreateAppealRequest(
            parent=ALICE, transaction=transaction, reason="too little", request_id="setup"
        )
    )
    return filed.appeal.name


async def create_reservation(app) -> Samples:
    earn(app)
    request = pb.CreateReservationRequest(
        parent=ALICE, amount_centipoints=100, sink=pb.SINK_REWARDS, memo="voucher", request_id="q"
    )
    return request, pb.CreateReservationRequest(
        parent=ALICE, amount_centipoints=150, sink=pb.SINK_REWARDS, memo="voucher", request_id="q"
    )


async def commit_reservation(app) -> Samples:
    name = await reservation(app)
    other = await rewards(app).CreateReservation(
        pb.CreateReservationRequest(
            parent=ALICE, amount_centipoints=50, sink=pb.SINK_REWARDS, request_id="other"
        )
    )
    return (
        pb.CommitReservationRequest(name=name, request_id="q"),
        pb.CommitReservationRequest(name=other.reservation.name, request_id="q"),
    )


async def void_reservation(app) -> Samples:
    name = await reservation(app)
    return (
        pb.VoidReservationRequest(name=name, reason="changed mind", request_id="q"),
        pb.VoidReservationRequest(name=name, reason="out of stock", request_id="q"),
    )


async def committed(app) -> str:
    """A committed redemption of Alice's points; its name."""
    name = await reservation(app)
    await rewards(app).CommitReservation(
        pb.CommitReservationRequest(name=name, request_id="setup-commit")
    )
    return name


async def refund_reservation(app) -> Samples:
    name = await committed(app)
    return (
        pb.RefundReservationRequest(name=name, reason="voucher cancelled", request_id="q"),
        pb.RefundReservationRequest(name=name, reason="voucher expired", request_id="q"),
    )


async def close_periods(app) -> Samples:
    earn(app)
    # Its only argument is the community, and request ids are kept per community.
    return pb.ClosePeriodsRequest(parent=COMMUNITY, request_id="q"), None


async def close_year(app) -> Samples:
    return (
        pb.CloseYearRequest(parent=COMMUNITY, year=2025, request_id="q"),
        pb.CloseYearRequest(parent=COMMUNITY, year=2024, request_id="q"),
    )


async def rebuild_leaderboard(app) -> Samples:
    earn(app)
    return (
        pb.RebuildLeaderboardRequest(parent=COMMUNITY, year=2026, request_id="q"),
        pb.RebuildLeaderboardRequest(parent=COMMUNITY, year=2025, request_id="q"),
    )


async def create_appeal(app) -> Samples:
    transaction = f"{COMMUNITY}/transactions/{earn(app)}"
    return (
        pb.CreateAppealRequest(
            parent=ALICE, transaction=transaction, reason="short", request_id="q"
        ),
        pb.CreateAppealRequest(
            parent=ALICE, transaction=transaction, reason="late", request_id="q"
        ),
    )


async def decide_appeal(app) -> Samples:
    name = await appeal(app)
    return (
        pb.DecideAppealRequest(name=name, reason="as recorded", request_id="q"),
        pb.DecideAppealRequest(name=name, reason="no proof", request_id="q"),
    )


Caller = Callable[..., pb_grpc.PointsServiceStub]
# Each mutating RPC: its sample requests, and who may call it.
SAMPLES: dict[str, tuple[Callable[..., Awaitable[Samples]], Caller]] = {
    "CreateReservation": (create_reservation, rewards),
    "CommitReservation": (commit_reservation, rewards),
    "VoidReservation": (void_reservation, rewards),
    "RefundReservation": (refund_reservation, rewards),
    "ClosePeriods": (close_periods, social_worker),
    "CloseYear": (close_year, social_worker),
    "RebuildLeaderboard": (rebuild_leaderboard, social_worker),
    "CreateAppeal": (create_appeal, alice),
    "DecideAppeal": (decide_appeal, judge),
}


def test_every_mutating_rpc_has_a_sample() -> None:
    assert sorted(m.name for m in METHODS) == sorted(SAMPLES)


@pytest.mark.parametrize("method", [m.name for m in METHODS])
async def test_a_retry_returns_the_first_answer(points_app, method: str) -> None:
    assert method in SAMPLES, f"no sample request for {method}"
    sample, caller = SAMPLES[method]
    request, changed = await sample(points_app)

    await assert_retry_replays(getattr(caller(points_app), method), request, changed)


async def test_another_caller_reusing_a_request_id_is_refused_not_answered(points_app) -> None:
    request, _ = await close_year(points_app)
    await social_worker(points_app).CloseYear(request)
    colleague = points_app.person(C, "r-sw2", Role.SOCIAL_WORKER)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await colleague.CloseYear(request)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_second_refund_under_another_request_id_is_refused(points_app) -> None:
    request, _ = await refund_reservation(points_app)
    first = await rewards(points_app).RefundReservation(request)
    again = pb.RefundReservationRequest(name=request.name, reason="twice", request_id="q2")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rewards(points_app).RefundReservation(again)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already refunded" in (refused.value.details() or "")
    assert first.reservation.state == pb.RESERVATION_STATE_REFUNDED
    assert first.reservation.refund_reason == "voucher cancelled"
    balance = await rewards(points_app).GetBalance(pb.GetBalanceRequest(name=f"{ALICE}/balance"))
    assert balance.balance.yearly_centipoints == 300  # given back once: 300 - 100 + 100
