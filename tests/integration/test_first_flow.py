"""The core flow across real processes: sign in and out, and points land exactly once (issue 2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import redis
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.auth import Metadata
from linli_kit.testing import Stack, eventually, row_count

# Recent enough that no forgotten-sign-out sweep (2 h after an activity's end) interferes.
# Three hours ago to the minute: its 2 h window ended an hour ago, well inside the 2 h sign-out
# grace whenever the test runs (the top of the hour would leave minutes when run late).
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)


def _stubs(stack: Stack) -> tuple[object, object, object]:
    return (
        idn_grpc.IdentityServiceStub(stack.channel("identity")),
        att_grpc.AttendanceServiceStub(stack.channel("attendance")),
        pts_grpc.PointsServiceStub(stack.channel("points")),
    )


def _presence(kind: type, activity: str, resident: str, at: datetime, request_id: str) -> object:
    request = kind(
        activity=activity,
        resident=resident,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,  # confirmed by the caller, a staff member
        request_id=request_id,
    )
    request.time.FromDatetime(at)
    return request


def _serve(attendance: object, activity: str, resident: str, staff: Metadata, hours: int) -> None:
    attendance.SignIn(
        _presence(att.SignInRequest, activity, resident, START, f"in-{resident}"), metadata=staff
    )
    end = START + timedelta(hours=hours)
    attendance.SignOut(
        _presence(att.SignOutRequest, activity, resident, end, f"out-{resident}"), metadata=staff
    )


def _balance(points: object, resident: str, caller: Metadata) -> int:
    request = pts.GetBalanceRequest(name=f"{resident}/balance")
    return points.GetBalance(request, metadata=caller).balance.yearly_centipoints


def test_service_earns_points_exactly_once_across_a_crash(stack, servers, stream_prefix):
    """Sign-out → SessionCompleted → points; a killed consumer and a duplicate change nothing.

    Every call carries a token over mutual TLS: the first social worker is bootstrapped by
    identity's operator command and gets their token from identity (the residents' tokens are
    signed with the same key); the services verify tokens with the keys identity publishes, and
    attendance asks identity about residents as a service.
    """
    identity, attendance, points = _stubs(stack)
    stack.bootstrap_staff()
    staff = stack.token("13800000001")
    parent = "communities/xinhua"
    alice, bob = (
        identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=parent, display_name=name, phone=phone, request_id=f"register-{phone}"
            ),
            metadata=staff,
        ).resident.name
        for name, phone in (("李娜", "13800000002"), ("张伟", "13800000003"))
    )
    planned = att.Activity(
        title="社区义诊",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_PROFESSIONAL,
    )
    planned.start_time.FromDatetime(START)
    planned.end_time.FromDatetime(START + timedelta(hours=2))
    activity = attendance.CreateActivity(
        att.CreateActivityRequest(parent=parent, activity=planned, request_id="activity"),
        metadata=staff,
    ).activity.name

    as_alice, as_bob = stack.person(alice), stack.person(bob)
    _serve(attendance, activity, alice, staff, hours=2)
    assert eventually(lambda: _balance(points, alice, as_alice), 400) == 400  # 2 h × 2 points

    stack["points"].kill()
    _serve(attendance, activity, bob, staff, hours=2)
    stream, client = f"{stream_prefix}attendance.events", redis.Redis.from_url(servers.redis)
    assert eventually(lambda: client.xlen(stream), 2) == 2
    # Redeliver Alice's event as if the relay had published it twice.
    client.xadd(stream, client.xrange(stream)[0][1])
    stack["points"].start()

    assert eventually(lambda: _balance(points, bob, as_bob), 400) == 400
    time.sleep(1)  # give a wrongly applied duplicate the time to show
    assert _balance(points, alice, as_alice) == 400
    url = stack["points"].settings["database_url"]
    assert row_count(url, "transactions") == 2
    assert row_count(url, "postings") == 8
    history = points.ListTransactions(
        pts.ListTransactionsRequest(parent=alice), metadata=as_alice
    ).transactions
    assert [t.rule_id for t in history] == ["p1.hourly.professional"]
    assert sum(p.amount_centipoints for p in history[0].postings) == 0
    with pytest.raises(grpc.RpcError) as neighbour:
        points.GetBalance(pts.GetBalanceRequest(name=f"{alice}/balance"), metadata=as_bob)
    assert neighbour.value.code() == grpc.StatusCode.PERMISSION_DENIED
