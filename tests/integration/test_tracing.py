"""One trace spans the gRPC call, the stream and the consumer (issue 2)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import grpc
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from linli_attendance.bootstrap import build_app as attendance_app
from linli_attendance.config import AttendanceSettings
from linli_attendance.entrypoints.cli import MIGRATIONS as ATTENDANCE_MIGRATIONS
from linli_identity.bootstrap import bootstrap_community
from linli_identity.bootstrap import build_app as identity_app
from linli_identity.config import IdentitySettings
from linli_identity.entrypoints.cli import MIGRATIONS as IDENTITY_MIGRATIONS
from linli_identity.service_layer.operators import CommunityBootstrap
from linli_kit.db import migrate
from linli_kit.grpc_server import Transport, start
from linli_kit.telemetry import configure_telemetry
from linli_kit.testing import Credentials
from linli_points.bootstrap import build_app as points_app
from linli_points.config import PointsSettings
from linli_points.entrypoints.cli import MIGRATIONS as POINTS_MIGRATIONS

C = "donghu"
# Recent enough that no forgotten-sign-out sweep (2 h after an activity's end) interferes.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


async def test_one_trace_from_sign_out_to_award(
    servers, make_database, stream_prefix, credentials: Credentials, tmp_path
):
    """The consumer span in points is a descendant of attendance's SignOut span.

    The three apps serve mutual TLS in this process; every call carries a token.
    """
    exporter = InMemorySpanExporter()
    configure_telemetry("linli-test", SimpleSpanProcessor(exporter))
    urls = {name: make_database(name) for name in ("identity", "attendance", "points")}
    for name, path in (
        ("identity", IDENTITY_MIGRATIONS),
        ("attendance", ATTENDANCE_MIGRATIONS),
        ("points", POINTS_MIGRATIONS),
    ):
        await asyncio.to_thread(migrate, urls[name], path)
    tls = {
        name: str(credentials.ca.write(tmp_path / name, f"spiffe://linli/{C}/{name}"))
        for name in urls
    }
    common = {"redis_url": servers.redis, "stream_prefix": stream_prefix, "metrics_port": 0}
    identity_settings = IdentitySettings(
        database_url=urls["identity"],
        tls_dir=tls["identity"],
        signing_keys=json.loads(credentials.signing_keys()),
        **common,
    )
    staff = await asyncio.to_thread(
        bootstrap_community,
        identity_settings,
        CommunityBootstrap(C, "东湖社区", "13900000001", "周站长", "community-hq"),
    )
    identity = await start(
        identity_app(identity_settings), "127.0.0.1", 0, Transport.from_settings(identity_settings)
    )
    address = f"127.0.0.1:{identity.port}"
    attendance_settings = AttendanceSettings(
        database_url=urls["attendance"],
        identity_address=address,
        tls_dir=tls["attendance"],
        **common,
    )
    attendance = await start(
        attendance_app(attendance_settings),
        "127.0.0.1",
        0,
        Transport.from_settings(attendance_settings),
    )
    points_settings = PointsSettings(
        database_url=urls["points"], identity_address=address, tls_dir=tls["points"], **common
    )
    points = await start(
        points_app(points_settings), "127.0.0.1", 0, Transport.from_settings(points_settings)
    )
    as_staff = credentials.person(C, staff.id, "social_worker")
    client = credentials.tls(C, "cli").channel_credentials()
    try:
        async with (
            grpc.aio.secure_channel(address, client) as ch_i,
            grpc.aio.secure_channel(f"127.0.0.1:{attendance.port}", client) as ch_a,
            grpc.aio.secure_channel(f"127.0.0.1:{points.port}", client) as ch_p,
        ):
            ids, atts = idn_grpc.IdentityServiceStub(ch_i), att_grpc.AttendanceServiceStub(ch_a)
            volunteer = (
                await ids.RegisterResident(
                    idn.RegisterResidentRequest(
                        parent=f"communities/{C}",
                        display_name="陈阳",
                        phone="13900000002",
                        request_id="volunteer",
                    ),
                    metadata=as_staff,
                )
            ).resident.name
            planned = att.Activity(
                title="防汛巡查",
                kind=att.ACTIVITY_KIND_EMERGENCY,
                service_type=service_type_pb2.SERVICE_TYPE_HIGH_RISK,
            )
            planned.start_time.FromDatetime(START)
            planned.end_time.FromDatetime(START + timedelta(hours=1))
            activity = (
                await atts.CreateActivity(
                    att.CreateActivityRequest(
                        parent=f"communities/{C}", activity=planned, request_id="activity"
                    ),
                    metadata=as_staff,
                )
            ).activity.name
            for kind, at in (
                (att.SignInRequest, START),
                (att.SignOutRequest, START + timedelta(hours=1)),
            ):
                request = kind(
                    activity=activity,
                    resident=volunteer,
                    method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
                    request_id=kind.__name__,
                )
                request.time.FromDatetime(at)
                call = atts.SignIn if kind is att.SignInRequest else atts.SignOut
                await call(request, metadata=as_staff)
            balance = pts_grpc.PointsServiceStub(ch_p).GetBalance
            as_volunteer = credentials.person(C, volunteer.rpartition("/")[2])
            for _ in range(200):
                reply = await balance(
                    pts.GetBalanceRequest(name=f"{volunteer}/balance"), metadata=as_volunteer
                )
                if reply.balance.yearly_centipoints:
                    break
                await asyncio.sleep(0.05)
            assert reply.balance.yearly_centipoints == 300
    finally:
        for running in (points, attendance, identity):
            await running.stop(grace=1)

    spans = exporter.get_finished_spans()
    sign_out = next(
        s for s in spans if s.name.endswith("AttendanceService/SignOut") and s.kind.name == "SERVER"
    )
    consumed = next(
        s
        for s in spans
        if s.name == f"{stream_prefix}attendance.events process"
        and s.attributes["linli.event_type"] == "linli.events.v1.SessionCompleted"
    )
    assert consumed.context.trace_id == sign_out.context.trace_id
    assert consumed.attributes["linli.community_id"] == C
    ledger_writes = [
        s
        for s in spans
        if s.context.trace_id == sign_out.context.trace_id
        and "INSERT" in s.name
        and s.start_time >= consumed.start_time
    ]
    assert ledger_writes, "the award's SQL is part of the same trace"
