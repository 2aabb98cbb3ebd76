"""Parallel retries with one request_id get one answer and cause one effect (issue 11, item 3)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.auth import Metadata
from linli_kit.testing import Stack, eventually, row_count

RETRIES = 8
# Three hours ago to the minute: its 2 h window ended an hour ago, well inside the 2 h sign-out
# grace whenever the test runs (the top of the hour would leave minutes when run late).
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)


def _all_at_once(
    call: Callable[..., Message], request: Message, caller: Metadata = ()
) -> list[bytes]:
    """The same request sent RETRIES times at the same moment; the answers, serialized."""
    barrier = threading.Barrier(RETRIES)

    def send(_: int) -> bytes:
        barrier.wait()
        return call(request, metadata=caller).SerializeToString(deterministic=True)

    with ThreadPoolExecutor(RETRIES) as pool:
        return list(pool.map(send, range(RETRIES)))


def _presence(kind: type, activity: str, resident: str, at: datetime, rid: str):
    request = kind(
        activity=activity,
        resident=resident,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,  # by the caller, a staff member
        request_id=rid,
    )
    request.time.FromDatetime(at)
    return request


def test_parallel_retries_of_sign_in_and_reservation_answer_alike(shared_stack: Stack) -> None:
    """8 SignIn and 8 CreateReservation sent together with one id: 8 equal answers, 1 row each."""
    stack = shared_stack
    attendance_db = stack["attendance"].settings["database_url"]
    points_db = stack["points"].settings["database_url"]
    sessions, reservations = (
        row_count(attendance_db, "sessions"),
        row_count(points_db, "reservations"),
    )
    identity = idn_grpc.IdentityServiceStub(stack.channel("identity"))
    attendance = att_grpc.AttendanceServiceStub(stack.channel("attendance"))
    points = pts_grpc.PointsServiceStub(stack.channel("points"))
    # Reservations are the rewards service's to make: the test presents its certificate.
    rewards = pts_grpc.PointsServiceStub(stack.channel("points", as_service="rewards"))
    _, staff = stack.with_staff()
    parent = f"communities/{stack.community}"
    alice = identity.RegisterResident(
        idn.RegisterResidentRequest(
            parent=parent, display_name="李娜", phone="13700000002", request_id="retry-alice"
        ),
        metadata=staff,
    ).resident.name
    planned = att.Activity(
        title="社区义诊",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_PROFESSIONAL,
    )
    planned.start_time.FromDatetime(START)
    planned.end_time.FromDatetime(START + timedelta(hours=2))
    activity = attendance.CreateActivity(
        att.CreateActivityRequest(parent=parent, activity=planned, request_id="a"), metadata=staff
    ).activity.name

    sign_in = _presence(att.SignInRequest, activity, alice, START, "in-once")
    signed_in = _all_at_once(attendance.SignIn, sign_in, staff)
    assert len(set(signed_in)) == 1
    assert att.SignInResponse.FromString(signed_in[0]).session.resident == alice
    assert row_count(attendance_db, "sessions") == sessions + 1

    finish = START + timedelta(hours=2)
    attendance.SignOut(
        _presence(att.SignOutRequest, activity, alice, finish, "out-once"), metadata=staff
    )
    balance = pts.GetBalanceRequest(name=f"{alice}/balance")
    as_alice = stack.person(alice)

    def yearly() -> int:
        return points.GetBalance(balance, metadata=as_alice).balance.yearly_centipoints

    assert eventually(yearly, 400) == 400

    reserve = pts.CreateReservationRequest(
        parent=alice,
        amount_centipoints=150,
        sink=pts.SINK_REWARDS,
        memo="一袋米",
        request_id="reserve-once",
    )
    reserved = _all_at_once(rewards.CreateReservation, reserve)
    assert len(set(reserved)) == 1
    assert pts.CreateReservationResponse.FromString(reserved[0]).reservation.resident == alice
    assert row_count(points_db, "reservations") == reservations + 1
