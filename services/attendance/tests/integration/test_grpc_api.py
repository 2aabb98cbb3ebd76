"""AttendanceService over gRPC on real PostgreSQL: request and response mapping, status codes.

Identity is replaced by in-process stand-ins; the cross-service flows are in
tests/integration/test_attendance_flow.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc
from linli.common.v1 import service_type_pb2

from linli_attendance.adapters import events, orm
from linli_attendance.bootstrap import SERVICE_NAME, sql_uow_factory
from linli_attendance.domain.activities import FaceMatch
from linli_attendance.entrypoints.cli import MIGRATIONS
from linli_attendance.entrypoints.grpc_api import LIMITS, POLICY, AttendanceServicer
from linli_attendance.service_layer.ports import LivenessChallenge
from linli_kit.auth import Metadata, with_metadata
from linli_kit.db import migrate, sql_plumbing
from linli_kit.grpc_server import GrpcApp, RunningApp, start
from linli_kit.principals import Role
from linli_kit.testing import Credentials

PARENT = "communities/c-east"
STAFF, ALICE = f"{PARENT}/residents/r-staff", f"{PARENT}/residents/r-alice"
HOUR = timedelta(hours=1)


class Everyone:
    """Identity knows every resident."""

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Always registered."""
        return True


class Kiosk:
    """Identity recognises Alice in any burst."""

    def identify(
        self,
        community_id: str,
        candidates: object,
        frames: object,
        challenge: LivenessChallenge,
    ) -> tuple[str, FaceMatch]:
        """Alice, with a fixed decision record."""
        return "r-alice", FaceMatch("dlib", "resnet-v1", 0.9, 0.6)


@pytest.fixture
async def server(
    make_database: Callable[[str], str], credentials: Credentials
) -> AsyncIterator[RunningApp]:
    """The servicer on a free port, on a migrated database, trusting the test signing key."""
    url = make_database("attendance")
    migrate(url, MIGRATIONS)
    plumbing = sql_plumbing(url, orm.runtime, "attendance.events", events.encode)
    servicer = AttendanceServicer(sql_uow_factory(plumbing), Everyone(), Kiosk())
    app = GrpcApp(
        "attendance",
        lambda server: pb_grpc.add_AttendanceServiceServicer_to_server(servicer, server),
        policies={SERVICE_NAME: POLICY},
        verifier=credentials.verifier(),
        limits={SERVICE_NAME: LIMITS},
    )
    running = await start(app, "127.0.0.1", 0)
    yield running
    await running.stop(grace=0)
    plumbing.engine.dispose()


@pytest.fixture
async def connect(
    server: RunningApp,
) -> AsyncIterator[Callable[[Metadata], pb_grpc.AttendanceServiceStub]]:
    """Stubs of the served app calling with the given metadata (credentials)."""
    channels: list[grpc.aio.Channel] = []

    def stub_with(metadata: Metadata) -> pb_grpc.AttendanceServiceStub:
        channels.append(
            grpc.aio.insecure_channel(
                f"127.0.0.1:{server.port}", interceptors=[with_metadata(metadata)]
            )
        )
        return pb_grpc.AttendanceServiceStub(channels[-1])

    yield stub_with
    for channel in channels:
        await channel.close()


@pytest.fixture
def stub(connect, credentials: Credentials) -> pb_grpc.AttendanceServiceStub:
    """The app called by the social worker r-staff of c-east."""
    return connect(credentials.person("c-east", "r-staff", Role.SOCIAL_WORKER))


@pytest.fixture
def alice(connect, credentials: Credentials) -> pb_grpc.AttendanceServiceStub:
    """The app called by the volunteer r-alice of c-east."""
    return connect(credentials.person("c-east", "r-alice", Role.VOLUNTEER))


def activity(start: datetime, **fields: object) -> pb.Activity:
    """A routine regular-service activity of two hours."""
    planned = pb.Activity(
        title="楼道清洁",
        kind=pb.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        **fields,
    )
    planned.start_time.FromDatetime(start)
    planned.end_time.FromDatetime(start + 2 * HOUR)
    return planned


async def code_of(call: object) -> grpc.StatusCode:
    """The status code a call fails with."""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value.code()


def recent() -> datetime:
    """An activity start whose window holds the present."""
    return datetime.now(UTC).replace(microsecond=0) - HOUR


async def test_create_activity_maps_schedule_kiosks_and_checklist_template(stub) -> None:
    planned = activity(recent(), occurrence_count=3, kiosks=[f"{PARENT}/kiosks/k-gate"])

    made = (
        await stub.CreateActivity(
            pb.CreateActivityRequest(parent=PARENT, activity=planned, checklist_template="cleaning")
        )
    ).activity

    assert len(made.checklist) == 8 and made.checklist[0] == "工具准备"
    first = planned.start_time.ToDatetime(tzinfo=UTC)
    assert [o.start_time.ToDatetime(tzinfo=UTC) for o in made.occurrences] == [
        first + timedelta(weeks=n) for n in range(3)
    ]
    assert list(made.kiosks) == [f"{PARENT}/kiosks/k-gate"]
    assert len(made.check_in_code) == 6


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"checklist_template": "gardening"}, "checklist_template must be one of"),
        ({"kiosks": ["communities/c-west/kiosks/k-gate"]}, "one community"),
        ({"occurrence_count": 105}, "occurrence_count"),
    ],
)
async def test_create_activity_refuses_bad_input(stub, request_fields, message) -> None:
    template = request_fields.pop("checklist_template", "")
    planned = activity(recent(), **request_fields)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateActivity(
            pb.CreateActivityRequest(parent=PARENT, activity=planned, checklist_template=template)
        )

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert message in (refused.value.details() or "")


async def test_an_emergency_without_a_start_starts_now(stub) -> None:
    planned = pb.Activity(
        title="防汛",
        kind=pb.ACTIVITY_KIND_EMERGENCY,
        service_type=service_type_pb2.SERVICE_TYPE_HIGH_RISK,
        org_units=["grid-3"],
    )
    planned.end_time.FromDatetime(datetime.now(UTC) + 4 * HOUR)
    before = datetime.now(UTC)

    made = await stub.CreateActivity(pb.CreateActivityRequest(parent=PARENT, activity=planned))

    assert before - timedelta(seconds=1) <= made.activity.start_time.ToDatetime(tzinfo=UTC)
    assert list(made.activity.org_units) == ["grid-3"]


async def test_a_face_session_and_its_checklist_over_grpc(stub) -> None:
    kiosk = f"{PARENT}/kiosks/k-gate"
    made = (
        await stub.CreateActivity(
            pb.CreateActivityRequest(
                parent=PARENT,
                activity=activity(recent(), kiosks=[kiosk]),
                checklist_template="elder_care",
            )
        )
    ).activity
    burst = {
        "activity": made.name,
        "kiosk": kiosk,
        "frames": [b"frame"] * 3,
        "challenge": pb.LIVENESS_CHALLENGE_BLINK,
    }
    await stub.AddRosterEntry(
        pb.AddRosterEntryRequest(
            activity=made.name,
            resident=f"{PARENT}/residents/r-alice",
            role=pb.ROSTER_ROLE_VOLUNTEER,
        )
    )
    opened = (await stub.FaceSignIn(pb.FaceSignInRequest(**burst))).session

    done = (
        await stub.RecordChecklist(
            pb.RecordChecklistRequest(name=opened.name, completed_steps=["三记录", "一问"])
        )
    ).session

    assert (opened.method, opened.sign_in.face.engine, opened.sign_in.kiosk) == (
        pb.SIGN_IN_METHOD_FACE,
        "dlib",
        kiosk,
    )
    assert opened.confirmed_by == "" and opened.status == pb.SESSION_STATUS_OPEN
    assert list(done.checklist_done) == ["一问", "三记录"]
    assert (
        await code_of(
            stub.RecordChecklist(
                pb.RecordChecklistRequest(name=opened.name, completed_steps=["扫地"])
            )
        )
        is grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        await code_of(stub.FaceSignIn(pb.FaceSignInRequest(**{**burst, "challenge": 0})))
        is grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_project_leads_over_grpc(stub, alice, connect, credentials) -> None:
    made = (
        await stub.CreateActivity(
            pb.CreateActivityRequest(parent=PARENT, activity=activity(recent()))
        )
    ).activity
    applied = (
        await alice.ApplyProjectLead(
            pb.ApplyProjectLeadRequest(activity=made.name, motivation="我住这栋楼")
        )
    ).project_lead
    alice_as_staff = connect(credentials.person("c-east", "r-alice", Role.GRID_HEAD))

    assert (
        await code_of(
            alice_as_staff.ApproveProjectLead(pb.ApproveProjectLeadRequest(name=applied.name))
        )
        is grpc.StatusCode.PERMISSION_DENIED
    )
    await stub.ApproveProjectLead(pb.ApproveProjectLeadRequest(name=applied.name, request_id="a1"))

    got = (await stub.GetProjectLead(pb.GetProjectLeadRequest(name=applied.name))).project_lead
    assert (got.state, got.approved_by, got.resident) == (
        pb.PROJECT_LEAD_STATE_APPROVED,
        STAFF,
        ALICE,
    )
    flags = (await stub.ListFlags(pb.ListFlagsRequest(parent=PARENT))).flags
    assert [(f.kind, f.resident) for f in flags] == [(pb.FLAG_KIND_SELF_CONFIRMATION, ALICE)]
    resolved = (await stub.ResolveFlag(pb.ResolveFlagRequest(name=flags[0].name))).flag
    assert (resolved.resolved_by, resolved.HasField("resolve_time")) == (STAFF, True)
    still_open = await stub.ListFlags(pb.ListFlagsRequest(parent=PARENT, open_only=True))
    assert list(still_open.flags) == []
    assert (
        await code_of(
            stub.GetProjectLead(pb.GetProjectLeadRequest(name=f"{PARENT}/projectLeads/l-none"))
        )
        is grpc.StatusCode.NOT_FOUND
    )


async def test_a_paper_sheet_and_whom_it_served_over_grpc(stub, connect, credentials) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - 30 * HOUR
    made = (
        await stub.CreateActivity(
            pb.CreateActivityRequest(parent=PARENT, activity=activity(start), request_id="p")
        )
    ).activity
    sheet = pb.EnterPaperSessionRequest(
        activity=made.name,
        resident=ALICE,
        reason="the kiosk was down",
        request_id="s",
    )
    sheet.sign_in_time.FromDatetime(start)
    sheet.sign_out_time.FromDatetime(start + HOUR)

    session = (await stub.EnterPaperSession(sheet)).session
    grandma = f"{PARENT}/residents/r-grandma"
    served = await stub.RecordServed(
        pb.RecordServedRequest(session=session.name, residents=[grandma], request_id="v")
    )

    assert (session.status, session.duration_seconds) == (pb.SESSION_STATUS_COMPLETED, 3600)
    assert (session.sign_in.method, session.sign_in.confirmed_by) == (
        pb.SIGN_IN_METHOD_PAPER_SHEET,
        STAFF,
    )
    assert session.paper_sheet_reason == "the kiosk was down"
    assert list(served.session.served) == [grandma]
    missing = pb.EnterPaperSessionRequest(activity=made.name, resident=ALICE, reason="why")
    assert await code_of(stub.EnterPaperSession(missing)) is grpc.StatusCode.INVALID_ARGUMENT
    neighbour = connect(credentials.person("c-east", "r-bob", Role.RESIDENT))
    rating = pb.RateSessionRequest(session=session.name, stars=5)
    assert await code_of(neighbour.RateSession(rating)) is grpc.StatusCode.PERMISSION_DENIED


LONG = f"r{'x' * 40}"  # a valid id that overflows the 40-char columns


@pytest.mark.parametrize(
    ("resident", "caller", "refused"),
    [
        (f"{PARENT}/residents/{LONG}", LONG, "resident"),  # the flag would store the id
        (ALICE, LONG, "caller's resident id"),  # the session would store the confirmer's id
    ],
)
async def test_an_id_longer_than_its_column_is_invalid_argument(
    stub, connect, credentials, resident, caller, refused
) -> None:
    made = (
        await stub.CreateActivity(
            pb.CreateActivityRequest(parent=PARENT, activity=activity(recent()))
        )
    ).activity
    sign_in = pb.SignInRequest(
        activity=made.name, resident=resident, method=pb.SIGN_IN_METHOD_STAFF_CONFIRMED
    )
    staff = connect(credentials.person("c-east", caller, Role.SOCIAL_WORKER))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await staff.SignIn(sign_in)

    assert error.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refused in (error.value.details() or "")


FIRST_SECOND = datetime(1, 1, 1, tzinfo=UTC)
LAST_SECOND = datetime(9999, 12, 31, 15, 59, 59, tzinfo=UTC)  # the last the edge lets in


@pytest.mark.parametrize(
    ("start", "end", "occurrences"),
    [
        (FIRST_SECOND, FIRST_SECOND + HOUR, 1),
        (LAST_SECOND - HOUR, LAST_SECOND, 1),
        (datetime(2199, 1, 1, tzinfo=UTC), datetime(2199, 1, 1, 2, tzinfo=UTC), 104),
    ],
    ids=["first-hour", "last-hour", "weeks-past-the-calendar"],
)
async def test_activities_outside_the_calendar_are_invalid(stub, start, end, occurrences):
    planned = pb.Activity(
        title="楼道清洁",
        kind=pb.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        occurrence_count=occurrences,
    )
    planned.start_time.FromDatetime(start)
    planned.end_time.FromDatetime(end)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateActivity(pb.CreateActivityRequest(parent=PARENT, activity=planned))

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "2000 to 2199" in (refused.value.details() or "")


@pytest.mark.parametrize("at", [FIRST_SECOND, LAST_SECOND], ids=["first", "last"])
async def test_presence_times_outside_the_calendar_are_invalid(stub, at) -> None:
    planned = pb.CreateActivityRequest(parent=PARENT, activity=activity(recent()))
    made = (await stub.CreateActivity(planned)).activity
    presence = {
        "activity": made.name,
        "resident": ALICE,
        "method": pb.SIGN_IN_METHOD_STAFF_CONFIRMED,
    }
    sign_in, sign_out = pb.SignInRequest(**presence), pb.SignOutRequest(**presence)
    sign_in.time.FromDatetime(at)
    sign_out.time.FromDatetime(at)
    sheet = pb.EnterPaperSessionRequest(
        activity=made.name, resident=ALICE, reason="the kiosk was down"
    )
    sheet.sign_in_time.FromDatetime(min(at, recent()))
    sheet.sign_out_time.FromDatetime(max(at, recent()))

    assert await code_of(stub.SignIn(sign_in)) is grpc.StatusCode.INVALID_ARGUMENT
    assert await code_of(stub.EnterPaperSession(sheet)) is grpc.StatusCode.INVALID_ARGUMENT
    await stub.SignIn(pb.SignInRequest(**presence))
    # Out before in is a precondition the session checks; past the calendar, the time is invalid.
    assert await code_of(stub.SignOut(sign_out)) in (
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
