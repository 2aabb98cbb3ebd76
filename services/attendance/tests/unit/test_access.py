"""Issue 10's attacks on attendance, each refused through the whole app over gRPC with tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc

from linli_attendance.bootstrap import build_app
from linli_attendance.config import AttendanceSettings
from linli_attendance.domain.activities import (
    ScheduleKind,
    ServiceType,
    SessionCompleted,
    SignInMethod,
)
from linli_attendance.domain.names import ACTIVITY, RESIDENT, SESSION
from linli_attendance.domain.review import FlagKind
from linli_attendance.domain.roster import RosterRole
from linli_attendance.entrypoints.grpc_api import LIMITS, POLICY
from linli_attendance.service_layer import activities, commands, leads, roster, sessions
from linli_kit.auth import missing_entries
from linli_kit.grpc_server import Transport, start
from linli_kit.principals import Role
from linli_kit.testing import load_beside

C = "c-east"
HOUR = timedelta(hours=1)
SERVICE = pb.DESCRIPTOR.services_by_name["AttendanceService"]
QR = pb.SIGN_IN_METHOD_QR_CODE
STAFF_CONFIRMED = pb.SIGN_IN_METHOD_STAFF_CONFIRMED
fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")


def _stamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _who(resident: str) -> str:
    return RESIDENT.format(community=C, resident=resident)


async def _refused(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value


@pytest.fixture
def as_(connect, credentials):
    """A stub calling as a person of c-east (or another community) holding the roles."""

    def stub(resident: str, *roles: str, community: str = C) -> pb_grpc.AttendanceServiceStub:
        return connect(credentials.person(community, resident, *roles))

    return stub


@pytest.fixture
def activity(uow, clock):
    """A high-risk activity open now (two hours), bound to kiosk k-gate, with a checklist."""
    command = commands.CreateActivity(
        C,
        "Flood watch",
        ServiceType.HIGH_RISK,
        ScheduleKind.ROUTINE,
        clock.now - HOUR,
        clock.now + HOUR,
        kiosk_ids=("k-gate",),
        checklist=("sandbags",),
        actor=fakes.STAFF,
    )
    return activities.create_activity(command, uow, clock)


def _completed(uow, directory, clock, activity, resident: str = "r-alice"):
    """A session signed in by staff now and out 30 minutes later; the clock stays there."""
    method = SignInMethod.STAFF_CONFIRMED
    sign_in = commands.SignIn(C, activity.id, resident, method, actor=fakes.STAFF)
    sessions.sign_in(sign_in, uow, directory, clock)
    clock.now += timedelta(minutes=30)
    sign_out = commands.SignOut(C, activity.id, resident, method, actor=fakes.STAFF)
    return sessions.sign_out(sign_out, uow, directory, clock)


def _session_name(session) -> str:
    return SESSION.format(community=C, activity=session.activity_id, session=session.id)


def test_every_rpc_has_a_policy_entry() -> None:
    assert missing_entries(POLICY, [m.name for m in SERVICE.methods]) == []
    assert set(LIMITS) <= set(POLICY)


@pytest.mark.parametrize("method", [m.name for m in SERVICE.methods])
async def test_any_call_without_credentials_is_unauthenticated(server, method) -> None:
    descriptor = SERVICE.methods_by_name[method]
    request_class = getattr(pb, descriptor.input_type.name)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = pb_grpc.AttendanceServiceStub(channel)
        refused = await _refused(getattr(stub, method)(request_class()))

    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_forged_or_expired_token_is_unauthenticated(connect, credentials, activity) -> None:
    name = ACTIVITY.format(community=C, activity=activity.id)
    expired = credentials.token(C, "r-staff", Role.SOCIAL_WORKER, now=1_000_000)
    forged = credentials.token(C, "r-staff", Role.SOCIAL_WORKER)[:-4] + "AAAA"

    for token in (expired, forged):
        stub = connect((("authorization", f"Bearer {token}"),))
        refused = await _refused(stub.GetActivity(pb.GetActivityRequest(name=name)))
        assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_resident_cannot_correct_someones_session_to_zero(
    as_, uow, directory, clock, activity
) -> None:
    session = _completed(uow, directory, clock, activity)
    request = pb.CorrectSessionRequest(
        name=_session_name(session), duration_seconds=0, reason="never came"
    )

    for bob in (as_("r-bob", Role.VOLUNTEER), as_("r-bob", Role.CORE_VOLUNTEER)):
        refused = await _refused(bob.CorrectSession(request))
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert uow.sessions.rows[(C, session.id)].duration_seconds == 30 * 60
    assert [type(e) for e in uow.published] == [SessionCompleted]


async def test_staff_of_another_community_are_told_a_session_does_not_exist(
    as_, uow, directory, clock, activity
) -> None:
    session = _completed(uow, directory, clock, activity)
    west = as_("r-west", Role.SOCIAL_WORKER, community="c-west")

    correct = west.CorrectSession(
        pb.CorrectSessionRequest(name=_session_name(session), duration_seconds=0, reason="x")
    )
    assert (await _refused(correct)).code() == grpc.StatusCode.NOT_FOUND
    read = west.GetSession(pb.GetSessionRequest(name=_session_name(session)))
    assert (await _refused(read)).code() == grpc.StatusCode.NOT_FOUND
    flags = west.ListFlags(pb.ListFlagsRequest(parent=f"communities/{C}"))
    assert (await _refused(flags)).code() == grpc.StatusCode.NOT_FOUND


async def test_a_resident_cannot_sign_someone_in_by_qr_as_their_confirmer(
    as_, uow, activity
) -> None:
    bob = as_("r-bob", Role.VOLUNTEER)
    request = pb.SignInRequest(
        activity=ACTIVITY.format(community=C, activity=activity.id),
        resident=_who("r-alice"),
        method=QR,
        code=activity.check_in_code,
    )

    refused = await _refused(bob.SignIn(request))

    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert uow.sessions.rows == {}


async def test_a_resident_cannot_sign_themself_in_as_staff_confirmed(as_, uow, activity) -> None:
    alice = as_("r-alice", Role.VOLUNTEER)
    request = pb.SignInRequest(
        activity=ACTIVITY.format(community=C, activity=activity.id),
        resident=_who("r-alice"),
        method=STAFF_CONFIRMED,
    )

    refused = await _refused(alice.SignIn(request))

    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert uow.sessions.rows == {}


async def test_a_resident_signs_themself_in_by_qr_with_no_confirmer(as_, activity) -> None:
    alice = as_("r-alice", Role.VOLUNTEER)
    request = pb.SignInRequest(
        activity=ACTIVITY.format(community=C, activity=activity.id),
        resident=_who("r-alice"),
        method=QR,
        code=activity.check_in_code,
    )

    session = (await alice.SignIn(request)).session

    assert (session.resident, session.method, session.confirmed_by) == (_who("r-alice"), QR, "")


async def test_staff_cannot_confirm_their_own_sign_in(as_, uow, activity) -> None:
    staff = as_("r-staff", Role.GRID_HEAD)
    request = pb.SignInRequest(
        activity=ACTIVITY.format(community=C, activity=activity.id),
        resident=_who("r-staff"),
        method=STAFF_CONFIRMED,
    )

    refused = await _refused(staff.SignIn(request))

    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert [f.kind for f in uow.flags.rows.values()] == [FlagKind.SELF_CONFIRMATION]


async def test_a_resident_who_does_not_exist_cannot_be_signed_in_or_out(
    stub, uow, activity
) -> None:
    presence = {
        "activity": ACTIVITY.format(community=C, activity=activity.id),
        "resident": _who("r-ghost"),
        "method": STAFF_CONFIRMED,
    }

    signed_in = await _refused(stub.SignIn(pb.SignInRequest(**presence)))
    signed_out = await _refused(stub.SignOut(pb.SignOutRequest(**presence)))

    assert signed_in.code() == signed_out.code() == grpc.StatusCode.NOT_FOUND
    assert "r-ghost" in (signed_out.details() or "")


def _sheet(uow, clock, *, days_ago: int, hours: int) -> tuple[str, pb.EnterPaperSessionRequest]:
    """A high-risk activity run `days_ago` for `hours`, and an 8-hour sheet of Alice's there."""
    start = clock.now - timedelta(days=days_ago)
    command = commands.CreateActivity(
        C,
        "Rescue",
        ServiceType.HIGH_RISK,
        ScheduleKind.EMERGENCY,
        start,
        start + hours * HOUR,
        actor=fakes.STAFF,
    )
    made = activities.create_activity(command, uow, clock)
    name = ACTIVITY.format(community=C, activity=made.id)
    return name, pb.EnterPaperSessionRequest(
        activity=name,
        resident=_who("r-alice"),
        sign_in_time=_stamp(start),
        sign_out_time=_stamp(start + 8 * HOUR),
        reason="the kiosk was down",
    )


async def test_a_non_staff_caller_cannot_invent_an_old_high_risk_session(
    as_, uow, directory, clock, activity
) -> None:
    _, sheet = _sheet(uow, clock, days_ago=20, hours=10)
    session = _completed(uow, directory, clock, activity, "r-bob")
    served = pb.RecordServedRequest(session=_session_name(session), residents=[_who("r-alice")])

    for caller in (as_("r-alice", Role.VOLUNTEER), as_("r-alice", Role.CORE_VOLUNTEER)):
        assert (await _refused(caller.EnterPaperSession(sheet))).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
        assert (await _refused(caller.RecordServed(served))).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
    assert [s.resident_id for s in uow.sessions.rows.values()] == ["r-bob"]


async def test_a_staff_paper_session_stays_within_the_review_rules(stub, uow, clock) -> None:
    _, sheet = _sheet(uow, clock, days_ago=20, hours=2)
    # 20 days ago the activity ran for 2 hours: only those count of the 8 on the sheet.
    entered = (await stub.EnterPaperSession(sheet)).session
    assert entered.duration_seconds == 2 * 3600

    _, elsewhen = _sheet(uow, clock, days_ago=20, hours=2)
    elsewhen.sign_in_time.CopyFrom(_stamp(clock.now - timedelta(days=25)))
    elsewhen.sign_out_time.CopyFrom(_stamp(clock.now - timedelta(days=25) + 8 * HOUR))
    outside = await _refused(stub.EnterPaperSession(elsewhen))
    assert outside.code() == grpc.StatusCode.FAILED_PRECONDITION

    _, own = _sheet(uow, clock, days_ago=19, hours=8)
    own.resident = _who("r-staff")
    refused = await _refused(stub.EnterPaperSession(own))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert FlagKind.SELF_CONFIRMATION in [f.kind for f in uow.flags.rows.values()]


async def test_a_non_staff_person_does_not_see_the_check_in_code(as_, stub, activity) -> None:
    name = ACTIVITY.format(community=C, activity=activity.id)
    alice = as_("r-alice", Role.VOLUNTEER, Role.CORE_VOLUNTEER)

    shown = (await alice.GetActivity(pb.GetActivityRequest(name=name))).activity
    listed = await alice.ListActivities(pb.ListActivitiesRequest(parent=f"communities/{C}"))
    to_staff = (await stub.GetActivity(pb.GetActivityRequest(name=name))).activity

    assert shown.check_in_code == "" and [a.check_in_code for a in listed.activities] == [""]
    assert to_staff.check_in_code == activity.check_in_code != ""
    west = as_("r-west", Role.SOCIAL_WORKER, community="c-west")
    refused = await _refused(west.GetActivity(pb.GetActivityRequest(name=name)))
    assert refused.code() == grpc.StatusCode.NOT_FOUND


async def test_a_resident_cannot_read_another_residents_session(
    as_, uow, directory, clock, activity
) -> None:
    session = _completed(uow, directory, clock, activity)
    request = pb.GetSessionRequest(name=_session_name(session))

    own = (await as_("r-alice", Role.VOLUNTEER).GetSession(request)).session
    refused = await _refused(as_("r-bob", Role.VOLUNTEER).GetSession(request))

    assert own.resident == _who("r-alice")
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_kiosk_is_operated_by_staff_or_a_core_volunteer(
    as_, uow, directory, clock, activity
) -> None:
    roster.add_roster_entry(
        commands.AddRosterEntry(
            C, activity.id, None, "r-alice", RosterRole.VOLUNTEER, actor=fakes.STAFF
        ),
        uow,
        directory,
        clock,
    )
    burst = pb.FaceSignInRequest(
        activity=ACTIVITY.format(community=C, activity=activity.id),
        kiosk=f"communities/{C}/kiosks/k-gate",
        frames=[b"r-alice"],
        challenge=pb.LIVENESS_CHALLENGE_BLINK,
    )

    refused = await _refused(as_("r-bob", Role.VOLUNTEER).FaceSignIn(burst))
    opened = (await as_("r-bob", Role.CORE_VOLUNTEER).FaceSignIn(burst)).session

    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (opened.resident, opened.confirmed_by) == (_who("r-alice"), "")


async def test_a_checklist_is_recorded_by_staff_or_the_activitys_approved_lead(
    as_, uow, directory, clock, activity
) -> None:
    session = _completed(uow, directory, clock, activity)
    request = pb.RecordChecklistRequest(name=_session_name(session), completed_steps=["sandbags"])
    lead = leads.apply_project_lead(
        commands.ApplyProjectLead(C, activity.id, actor=fakes.person("r-bob")), uow, clock
    )

    applied_only = await _refused(as_("r-bob", Role.VOLUNTEER).RecordChecklist(request))
    leads.approve_project_lead(
        commands.ApproveProjectLead(C, lead.id, actor=fakes.STAFF), uow, clock
    )
    recorded = (await as_("r-bob", Role.VOLUNTEER).RecordChecklist(request)).session

    assert applied_only.code() == grpc.StatusCode.PERMISSION_DENIED
    assert list(recorded.checklist_done) == ["sandbags"]


async def test_sign_ins_are_limited_per_caller(as_) -> None:
    bob, alice = as_("r-bob", Role.VOLUNTEER), as_("r-alice", Role.VOLUNTEER)
    burst = LIMITS["SignIn"].burst
    for _ in range(burst):
        refused = await _refused(bob.SignIn(pb.SignInRequest()))
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT

    exhausted = await _refused(bob.SignIn(pb.SignInRequest()))
    another = await _refused(alice.SignIn(pb.SignInRequest()))

    assert exhausted.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert another.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
async def tls_server(uow, directory, faces, clock, credentials):
    """The app on mutual TLS with the community CA (as in production), on the fakes."""
    settings = AttendanceSettings(database_url="sqlite://", redis_url="redis://127.0.0.1:1/0")
    app = build_app(
        settings,
        uow_factory=lambda: uow,
        residents=directory,
        faces=faces,
        verifier=credentials.verifier(),
        clock=clock,
    )
    transport = Transport(credentials.tls(C, "attendance"))
    running = await start(app, "127.0.0.1", 0, transport)
    yield running
    await running.stop(grace=0)


@pytest.mark.parametrize("service", ["points", "identity", "attendance", "partner/bank"])
async def test_a_service_certificate_cannot_call_attendance(
    tls_server, credentials, service, activity
) -> None:
    client = credentials.tls(C, service).channel_credentials()
    name = ACTIVITY.format(community=C, activity=activity.id)
    async with grpc.aio.secure_channel(f"localhost:{tls_server.port}", client) as channel:
        stub = pb_grpc.AttendanceServiceStub(channel)
        read = await _refused(stub.GetActivity(pb.GetActivityRequest(name=name)))
        close = await _refused(stub.CloseActivity(pb.CloseActivityRequest(name=name)))

    assert read.code() == close.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_person_token_rides_on_a_tls_channel(tls_server, credentials, activity) -> None:
    client = credentials.tls(C, "gateway").channel_credentials()
    name = ACTIVITY.format(community=C, activity=activity.id)
    staff = credentials.person(C, "r-staff", Role.SOCIAL_WORKER)
    async with grpc.aio.secure_channel(f"localhost:{tls_server.port}", client) as channel:
        stub = pb_grpc.AttendanceServiceStub(channel)
        shown = await stub.GetActivity(pb.GetActivityRequest(name=name), metadata=staff)

    assert shown.activity.check_in_code == activity.check_in_code


def _planned(service_type: int, start: datetime) -> pb.CreateActivityRequest:
    activity = pb.Activity(
        title="培训：急救技能",
        service_type=service_type,
        kind=pb.ACTIVITY_KIND_ROUTINE,
        start_time=_stamp(start),
        end_time=_stamp(start + 2 * HOUR),
    )
    return pb.CreateActivityRequest(parent=f"communities/{C}", activity=activity)


async def test_only_the_training_service_plans_training_activities(
    tls_server, credentials, clock, as_
) -> None:
    training = pb.Activity.DESCRIPTOR.fields_by_name["service_type"].enum_type
    kind = training.values_by_name["SERVICE_TYPE_TRAINING"].number
    regular = training.values_by_name["SERVICE_TYPE_REGULAR"].number
    client = credentials.tls(C, "training").channel_credentials()
    async with grpc.aio.secure_channel(f"localhost:{tls_server.port}", client) as channel:
        as_training = pb_grpc.AttendanceServiceStub(channel)
        planned = await as_training.CreateActivity(_planned(kind, clock.now))
        not_training = await _refused(as_training.CreateActivity(_planned(regular, clock.now)))
    by_staff = await _refused(
        as_("r-staff", Role.SOCIAL_WORKER).CreateActivity(_planned(kind, clock.now))
    )

    assert planned.activity.service_type == kind
    assert not_training.code() == by_staff.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "training service" in (by_staff.details() or "")
