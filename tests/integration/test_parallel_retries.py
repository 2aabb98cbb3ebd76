"""Parallel retries with one request_id get one answer and cause one effect (issue 11, item 3)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.message import Message
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.testing import eventually, row_count

RETRIES = 8
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def _all_at_once(call: Callable[[Message], Message], request: Message) -> list[bytes]:
    """The same request sent RETRIES times at the same moment; the answers, serialized."""
    barrier = threading.Barrier(RETRIES)

    def send(_: int) -> bytes:
        barrier.wait()
        return call(request).SerializeToString(deterministic=True)

    with ThreadPoolExecutor(RETRIES) as pool:
        return list(pool.map(send, range(RETRIES)))


def _presence(kind: type, activity: str, resident: str, staff: str, at: datetime, rid: str):
    request = kind(
        activity=activity,
        resident=resident,
        confirmed_by=staff,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
        request_id=rid,
    )
    request.time.FromDatetime(at)
    return request


def test_parallel_retries_of_sign_in_and_reservation_answer_alike(stack) -> None:
    """8 SignIn and 8 CreateReservation sent together with one id: 8 equal answers, 1 row each."""
    channels = {name: grpc.insecure_channel(p.address) for name, p in stack.items()}
    identity = idn_grpc.IdentityServiceStub(channels["identity"])
    attendance = att_grpc.AttendanceServiceStub(channels["attendance"])
    points = pts_grpc.PointsServiceStub(channels["points"])
    identity.CreateCommunity(idn.CreateCommunityRequest(community_id="retry", display_name="重试"))
    parent = "communities/retry"
    staff, alice = (
        identity.RegisterResident(
            idn.RegisterResidentRequest(parent=parent, display_name=name, phone=phone)
        ).resident.name
        for name, phone in (("王社工", "13800000001"), ("李娜", "13800000002"))
    )
    planned = att.Activity(
        title="社区义诊",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_PROFESSIONAL,
    )
    planned.start_time.FromDatetime(START)
    planned.end_time.FromDatetime(START + timedelta(hours=2))
    activity = attendance.CreateActivity(
        att.CreateActivityRequest(parent=parent, activity=planned)
    ).activity.name

    sign_in = _presence(att.SignInRequest, activity, alice, staff, START, "in-once")
    signed_in = _all_at_once(attendance.SignIn, sign_in)
    assert len(set(signed_in)) == 1
    assert att.SignInResponse.FromString(signed_in[0]).session.resident == alice
    assert row_count(stack["attendance"].settings["database_url"], "sessions") == 1

    finish = START + timedelta(hours=2)
    attendance.SignOut(_presence(att.SignOutRequest, activity, alice, staff, finish, "out-once"))
    balance = pts.GetBalanceRequest(name=f"{alice}/balance")
    assert eventually(lambda: points.GetBalance(balance).balance.yearly_centipoints, 400) == 400

    reserve = pts.CreateReservationRequest(
        parent=alice,
        amount_centipoints=150,
        sink=pts.SINK_REWARDS,
        memo="一袋米",
        request_id="reserve-once",
    )
    reserved = _all_at_once(points.CreateReservation, reserve)
    assert len(set(reserved)) == 1
    assert pts.CreateReservationResponse.FromString(reserved[0]).reservation.resident == alice
    assert row_count(stack["points"].settings["database_url"], "reservations") == 1
    for channel in channels.values():
        channel.close()
