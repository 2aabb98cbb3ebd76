"""The core flow across real processes: sign in and out, and points land exactly once (issue 2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc
import redis
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.processes import ServiceProcess
from linli_kit.testing import eventually, row_count

# Recent enough that no forgotten-sign-out sweep (2 h after an activity's end) interferes.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def _stubs(stack: dict[str, ServiceProcess]) -> tuple[object, object, object]:
    channels = {name: grpc.insecure_channel(p.address) for name, p in stack.items()}
    return (
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
    )


def _presence(
    kind: type, activity: str, resident: str, staff: str, at: datetime, request_id: str
) -> object:
    request = kind(
        activity=activity,
        resident=resident,
        confirmed_by=staff,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
        request_id=request_id,
    )
    request.time.FromDatetime(at)
    return request


def _serve(attendance: object, activity: str, resident: str, staff: str, hours: int) -> None:
    attendance.SignIn(
        _presence(att.SignInRequest, activity, resident, staff, START, f"in-{resident}")
    )
    attendance.SignOut(
        _presence(
            att.SignOutRequest,
            activity,
            resident,
            staff,
            START + timedelta(hours=hours),
            f"out-{resident}",
        )
    )


def _balance(points: object, resident: str) -> int:
    request = pts.GetBalanceRequest(name=f"{resident}/balance")
    return points.GetBalance(request).balance.yearly_centipoints


def test_service_earns_points_exactly_once_across_a_crash(stack, servers, stream_prefix):
    """Sign-out → SessionCompleted → points; a killed consumer and a duplicate change nothing."""
    identity, attendance, points = _stubs(stack)
    identity.CreateCommunity(
        idn.CreateCommunityRequest(community_id="xinhua", display_name="新华社区")
    )
    parent = "communities/xinhua"
    staff, alice, bob = (
        identity.RegisterResident(
            idn.RegisterResidentRequest(parent=parent, display_name=name, phone=phone)
        ).resident.name
        for name, phone in (
            ("王社工", "13800000001"),
            ("李娜", "13800000002"),
            ("张伟", "13800000003"),
        )
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

    _serve(attendance, activity, alice, staff, hours=2)
    assert eventually(lambda: _balance(points, alice), 400) == 400  # 2 h × 2 points

    stack["points"].kill()
    _serve(attendance, activity, bob, staff, hours=2)
    stream, client = f"{stream_prefix}attendance.events", redis.Redis.from_url(servers.redis)
    assert eventually(lambda: client.xlen(stream), 2) == 2
    # Redeliver Alice's event as if the relay had published it twice.
    client.xadd(stream, client.xrange(stream)[0][1])
    stack["points"].start()

    assert eventually(lambda: _balance(points, bob), 400) == 400
    time.sleep(1)  # give a wrongly applied duplicate the time to show
    assert _balance(points, alice) == 400
    url = stack["points"].settings["database_url"]
    assert row_count(url, "transactions") == 2
    assert row_count(url, "postings") == 8
    # Two sessions applied once each (the other rows: the three residents' registrations).
    assert row_count(url, "processed_events") == 2 + 3
    history = points.ListTransactions(pts.ListTransactionsRequest(parent=alice)).transactions
    assert [t.rule_id for t in history] == ["p1.hourly.professional"]
    assert sum(p.amount_centipoints for p in history[0].postings) == 0
