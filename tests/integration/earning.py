"""Residents who earned their points the real way, for the flows that spend or show them.

A paper sign-in sheet of eight hours of regular service, entered by staff in attendance, is
turned into 8 points by points' consumer; the helper waits until every balance shows them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.testing import eventually

# Eight hours of regular service on a day of this policy year earn 8 points (800).
SERVED_ON = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
EARNED = 800


def balance(points: pts_grpc.PointsServiceStub, resident: str) -> pts.Balance:
    """A resident's balances, asked as the stub's caller."""
    return points.GetBalance(pts.GetBalanceRequest(name=f"{resident}/balance")).balance


def residents_with_points(
    identity: idn_grpc.IdentityServiceStub,
    attendance: att_grpc.AttendanceServiceStub,
    points: pts_grpc.PointsServiceStub,
    parent: str,
    count: int,
) -> list[str]:
    """Residents of the community who each earned EARNED points; the stubs act as staff."""
    planned = att.Activity(
        title="社区大扫除",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
    )
    planned.start_time.FromDatetime(SERVED_ON)
    planned.end_time.FromDatetime(SERVED_ON + timedelta(hours=8))
    activity = attendance.CreateActivity(
        att.CreateActivityRequest(parent=parent, activity=planned, request_id=str(uuid.uuid4()))
    ).activity
    residents = []
    for n in range(count):
        resident = identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=parent,
                display_name=f"居民{n}",
                phone=f"137{uuid.uuid4().int % 10**8:08d}",
                request_id=str(uuid.uuid4()),
            )
        ).resident.name
        sheet = att.EnterPaperSessionRequest(
            activity=activity.name,
            resident=resident,
            reason="signed on paper",
            request_id=str(uuid.uuid4()),
        )
        sheet.sign_in_time.FromDatetime(SERVED_ON)
        sheet.sign_out_time.FromDatetime(SERVED_ON + timedelta(hours=8))
        attendance.EnterPaperSession(sheet)
        residents.append(resident)
    for resident in residents:
        earned = eventually(lambda r=resident: balance(points, r).yearly_centipoints, EARNED)
        assert earned == EARNED, f"{resident} has {earned}"
    return residents
