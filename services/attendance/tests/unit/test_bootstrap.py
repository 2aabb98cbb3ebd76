"""The whole attendance service built with fakes in one call and served over real gRPC."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as pb

from linli_attendance.bootstrap import build_app
from linli_attendance.config import AttendanceSettings
from linli_attendance.domain.activities import SessionCompleted


def _stamp(value) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


async def test_the_app_built_on_fakes_answers_over_grpc(stub, uow, clock) -> None:
    planned = await stub.CreateActivity(
        pb.CreateActivityRequest(
            parent="communities/c-east",
            activity=pb.Activity(
                title="楼道清洁",
                kind=pb.ACTIVITY_KIND_ROUTINE,
                service_type=1,
                start_time=_stamp(clock.now - timedelta(hours=1)),
                end_time=_stamp(clock.now + timedelta(hours=1)),
            ),
            request_id="q-plan",
        )
    )
    signed_in = await stub.SignIn(
        pb.SignInRequest(
            activity=planned.activity.name,
            resident="communities/c-east/residents/r-alice",
            method=pb.SIGN_IN_METHOD_STAFF_CONFIRMED,
            request_id="q-in",
        )
    )
    clock.now += timedelta(minutes=30)
    signed_out = await stub.SignOut(
        pb.SignOutRequest(
            activity=planned.activity.name,
            resident="communities/c-east/residents/r-alice",
            method=pb.SIGN_IN_METHOD_STAFF_CONFIRMED,
            request_id="q-out",
        )
    )

    assert signed_out.session.name == signed_in.session.name
    assert signed_out.session.duration_seconds == 30 * 60
    # The injected clock and unit of work are the ones the servicer used.
    assert [type(e) for e in uow.published] == [SessionCompleted]


def test_building_connects_to_nothing() -> None:
    settings = AttendanceSettings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
        identity_address="127.0.0.1:1",
    )

    app = build_app(settings)

    assert app.name == "attendance" and len(app.background) == 2


async def test_a_face_burst_identity_would_refuse_is_refused_at_the_edge(stub) -> None:
    activity, kiosk = "communities/c-east/activities/a-1", "communities/c-east/kiosks/k-1"
    # A frame over identity's 4 MiB: refused by the field's declared limit.
    with pytest.raises(grpc.aio.AioRpcError) as too_long:
        await stub.FaceSignIn(
            pb.FaceSignInRequest(activity=activity, kiosk=kiosk, frames=[bytes(4 * 2**20 + 1)])
        )
    assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "longer than 4194304 bytes" in (too_long.value.details() or "")
    # Frames within it but a request over identity's 4 MiB + 64 KiB: refused by gRPC.
    with pytest.raises(grpc.aio.AioRpcError) as too_large:
        await stub.FaceSignIn(
            pb.FaceSignInRequest(activity=activity, kiosk=kiosk, frames=[bytes(3 * 2**20)] * 2)
        )
    assert too_large.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (too_large.value.details() or "")
