"""Training across real processes: courses signed in through attendance, paid by points' P5.

identity, attendance, points and training run as OS processes on their own PostgreSQL
databases and one Redis, on mutual TLS (the session's `shared_stack`). Training plans each
course session's sign-in activity in attendance with its own certificate; volunteers' time
comes back as attendance's SessionCompleted, is credited once by training and published on
training.events, where points pays it with the P5 training rule and never a P1 rate.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import redis
from google.protobuf.message import DecodeError
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.events.v1 import attendance_events_pb2, envelope_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.training.v1 import assessment_service_pb2 as asm
from linli.training.v1 import assessment_service_pb2_grpc as asm_grpc
from linli.training.v1 import training_service_pb2 as trn
from linli.training.v1 import training_service_pb2_grpc as trn_grpc

from linli_kit.testing import Stack as RunningStack
from linli_kit.testing import eventually

C = "xinhua"
PARENT = f"communities/{C}"
HOUR = timedelta(hours=1)
# Course days of this policy year, 09:00 in Asia/Shanghai, one course a day (the daily cap).
NOVEMBER = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BEGINNER = (("volunteering-ideas", 4), ("safety", 2), ("communication", 3))


@dataclass
class Training:
    """Stubs acting as the staff member, and ways to act as residents."""

    identity: idn_grpc.IdentityServiceStub
    attendance: att_grpc.AttendanceServiceStub
    points: pts_grpc.PointsServiceStub
    training: trn_grpc.TrainingServiceStub
    assessments: asm_grpc.AssessmentServiceStub
    teacher: str
    running: RunningStack
    channels: list[grpc.Channel]

    def _channel(self, token: str | None, service: str = "cli") -> grpc.Channel:
        address = self.running["training"].address
        channel = self.running.credentials.channel(address, C, service, token=token)
        self.channels.append(channel)
        return channel

    def _token(self, resident: str, *roles: str) -> str:
        return self.running.credentials.token(C, resident.rpartition("/")[2], *roles)

    def training_as(self, resident: str, *roles: str) -> trn_grpc.TrainingServiceStub:
        """Training called by a resident (their own token, holding the roles)."""
        return trn_grpc.TrainingServiceStub(self._channel(self._token(resident, *roles)))

    def assessments_as(
        self, resident: str | None, *roles: str, service: str = "cli"
    ) -> asm_grpc.AssessmentServiceStub:
        """Assessments called by a resident, or by a certificate alone (resident None)."""
        token = None if resident is None else self._token(resident, *roles)
        return asm_grpc.AssessmentServiceStub(self._channel(token, service))


@pytest.fixture(scope="module")
def stack(shared_stack: RunningStack) -> Iterator[Training]:
    """Stubs as the first social worker, the policy's courses and levels, and a teacher."""
    staff = shared_stack.bootstrap_staff()
    credentials = shared_stack.credentials
    token = credentials.token(C, staff.rpartition("/")[2], "social_worker")
    channels = {
        name: credentials.channel(p.address, C, token=token)
        for name, p in shared_stack.processes.items()
    }
    training = trn_grpc.TrainingServiceStub(channels["training"])
    training.CreateDefaultCourses(trn.CreateDefaultCoursesRequest(parent=PARENT, request_id="c"))
    training.CreateDefaultLevels(trn.CreateDefaultLevelsRequest(parent=PARENT, request_id="l"))
    courses = training.ListCourses(trn.ListCoursesRequest(parent=PARENT)).courses
    teacher = training.CreateTeacher(
        trn.CreateTeacherRequest(
            parent=PARENT,
            teacher=trn.Teacher(
                display_name="陈老师",
                kind=trn.TEACHER_KIND_RED_CROSS_TRAINER,
                organisation="区红十字会",
                qualified_courses=[c.name for c in courses],
            ),
            request_id="teacher",
        )
    ).teacher.name
    opened: list[grpc.Channel] = []
    yield Training(
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
        training,
        asm_grpc.AssessmentServiceStub(channels["training"]),
        teacher,
        shared_stack,
        opened,
    )
    for channel in [*channels.values(), *opened]:
        channel.close()


def _resident(stack: Training, name: str) -> str:
    return stack.identity.RegisterResident(
        idn.RegisterResidentRequest(
            parent=PARENT,
            display_name=name,
            phone=f"136{uuid.uuid4().int % 10**8:08d}",
            request_id=str(uuid.uuid4()),
        )
    ).resident.name


def _schedule(stack: Training, course: str, start: datetime, hours: float) -> trn.CourseSession:
    session = trn.CourseSession(
        course=f"{PARENT}/courses/{course}",
        teacher=stack.teacher,
        place="社区党群服务中心",
        capacity=20,
    )
    session.start_time.FromDatetime(start)
    session.end_time.FromDatetime(start + hours * HOUR)
    request = trn.ScheduleCourseSessionRequest(
        parent=PARENT, session=session, request_id=str(uuid.uuid4())
    )
    return stack.training.ScheduleCourseSession(request).session


def _attend(stack: Training, session: trn.CourseSession, resident: str, hours: float) -> str:
    """Staff enrol the resident, then enter the session's paper sign-in sheet in attendance."""
    stack.training.Enrol(
        trn.EnrolRequest(session=session.name, resident=resident, request_id=str(uuid.uuid4()))
    )
    sheet = att.EnterPaperSessionRequest(
        activity=session.activity,
        resident=resident,
        reason="培训签到表",
        request_id=str(uuid.uuid4()),
    )
    start = session.start_time.ToDatetime(tzinfo=UTC)
    sheet.sign_in_time.FromDatetime(start)
    sheet.sign_out_time.FromDatetime(start + hours * HOUR)
    return stack.attendance.EnterPaperSession(sheet).session.name


def _earned(stack: Training, resident: str) -> dict[str, int]:
    """The resident's earnings by rule id."""
    listed = stack.points.ListTransactions(pts.ListTransactionsRequest(parent=resident))
    totals: dict[str, int] = {}
    for transaction in listed.transactions:
        for posting in transaction.postings:
            if posting.account.endswith(f"{resident.rsplit('/', 1)[1]}:yearly"):
                totals[transaction.rule_id] = (
                    totals.get(transaction.rule_id, 0) + posting.amount_centipoints
                )
    return totals


def _progress(stack: Training, resident: str) -> trn.Progress:
    request = trn.GetProgressRequest(name=f"{resident}/trainingProgress")
    return stack.training.GetProgress(request).progress


def test_a_volunteers_beginner_year_earns_credits_a_level_p5_points_and_an_allowance(
    stack: Training,
) -> None:
    volunteer = _resident(stack, "周小红")
    for day, (course, hours) in enumerate(BEGINNER):
        held = _schedule(stack, course, NOVEMBER + timedelta(days=day), hours)
        assert held.activity.startswith(f"{PARENT}/activities/")
        _attend(stack, held, volunteer, hours)

    assert eventually(lambda: _progress(stack, volunteer).credits, 9) == 9
    progress = _progress(stack, volunteer)
    assert progress.level_title == "一星志愿者"
    assert sorted(c.course.rsplit("/", 1)[1] for c in progress.courses if c.completed) == sorted(
        c for c, _ in BEGINNER
    )
    # 9 hours at the P5 training rate (1 point an hour) and the promotion's P5 reward; no P1.
    expected = {"p5.training": 900, "p5.training_level": 500}
    assert eventually(lambda: len(_earned(stack, volunteer)), 2) == 2
    assert eventually(lambda: _earned(stack, volunteer) == expected, True), _earned(
        stack, volunteer
    )
    allowances = stack.training.ListAllowances(
        trn.ListAllowancesRequest(parent=volunteer, unpaid_only=True)
    ).allowances
    assert [(a.level_title, a.amount_fen, a.paid) for a in allowances] == [
        ("一星志愿者", 5000, False)
    ]
    paid = stack.training.MarkAllowancePaid(
        trn.MarkAllowancePaidRequest(name=allowances[0].name, request_id="pay")
    ).allowance
    assert paid.paid and paid.paid_by.startswith(f"{PARENT}/residents/")


def test_the_advanced_tier_opens_to_core_volunteers_on_identitys_grant_only(
    stack: Training,
) -> None:
    volunteer = _resident(stack, "吴大山")
    advanced = _schedule(stack, "project-management", datetime.now(UTC) + 24 * HOUR, 4)
    as_self = stack.training_as(volunteer, "core_volunteer")  # the token's say-so: nothing

    def refusal() -> str:
        with pytest.raises(grpc.RpcError) as refused:
            as_self.Enrol(trn.EnrolRequest(session=advanced.name, resident=volunteer))
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        return refused.value.details() or ""

    assert "core volunteers only" in refusal()
    stack.identity.GrantRole(
        idn.GrantRoleRequest(resident=volunteer, role="core_volunteer", request_id=volunteer)
    )
    # The core-volunteer rule is passed; the tier before it is what stands in the way now.
    deadline = time.monotonic() + 15
    while "core volunteers only" in (why := refusal()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "intermediate courses completed first" in why


def _stream_entry(stack: Training, stream: str, kind: type, match) -> dict[bytes, bytes]:
    client = redis.Redis.from_url(stack.running["points"].settings["redis_url"])
    prefix = stack.running["points"].settings["stream_prefix"]
    try:
        for _, fields in client.xrange(f"{prefix}{stream}"):
            try:
                envelope = envelope_pb2.EventEnvelope.FromString(fields[b"envelope"])
            except (DecodeError, KeyError):
                continue
            message = kind()
            if envelope.payload.Unpack(message) and match(message):
                return fields
    finally:
        client.close()
    raise AssertionError(f"no such entry on {stream}")


def _redeliver(stack: Training, stream: str, fields: dict[bytes, bytes]) -> None:
    client = redis.Redis.from_url(stack.running["points"].settings["redis_url"])
    prefix = stack.running["points"].settings["stream_prefix"]
    client.xadd(f"{prefix}{stream}", fields)
    client.close()


def test_a_course_hour_never_earns_p1_and_p5_and_a_redelivered_event_changes_nothing(
    stack: Training,
) -> None:
    volunteer = _resident(stack, "郑一鸣")
    first = _schedule(stack, "safety", NOVEMBER + timedelta(days=10), 2)
    attended = _attend(stack, first, volunteer, 2)
    assert eventually(lambda: _earned(stack, volunteer).get("p5.training", 0), 200) == 200

    completed = _stream_entry(
        stack,
        "attendance.events",
        attendance_events_pb2.SessionCompleted,
        lambda e: e.session == attended,
    )
    _redeliver(stack, "attendance.events", completed)  # the same event id, delivered again
    # A later course: once it is paid, the redelivery before it on the stream was applied.
    later = _schedule(stack, "communication", NOVEMBER + timedelta(days=11), 3)
    _attend(stack, later, volunteer, 3)

    assert eventually(lambda: _earned(stack, volunteer).get("p5.training", 0), 500) == 500
    assert _earned(stack, volunteer) == {"p5.training": 500}  # nothing from P1, nothing twice
    seconds = {
        c.course.rsplit("/", 1)[1]: c.attended_seconds for c in _progress(stack, volunteer).courses
    }
    assert (seconds["safety"], seconds["communication"]) == (7200, 10800)


def test_the_teaching_report_shows_the_shortfall_until_forty_hours_are_taught(
    stack: Training,
) -> None:
    def report() -> trn.GetTeachingReportResponse:
        return stack.training.GetTeachingReport(
            trn.GetTeachingReportRequest(parent=PARENT, year=2026)
        )

    before = report()
    assert before.target_minutes == 2400
    held = [_schedule(stack, "first-aid", NOVEMBER + timedelta(days=20 + n), 8) for n in range(5)]
    for n, session in enumerate(held):
        stack.training.RecordSessionTaught(
            trn.RecordSessionTaughtRequest(name=session.name, request_id=f"taught-{session.name}")
        )
        expected = max(0, before.shortfall_minutes - (n + 1) * 480)
        assert report().shortfall_minutes == expected
    assert report().shortfall_minutes == 0
    (teacher,) = [t for t in report().teachers if t.teacher == stack.teacher]
    assert teacher.taught_minutes >= 5 * 480


def test_another_resident_or_a_partner_cannot_read_an_assessment(stack: Training) -> None:
    alice, bob = _resident(stack, "冯小雨"), _resident(stack, "钱多多")
    submitted = (
        stack.assessments_as(alice)
        .SubmitAssessment(
            asm.SubmitAssessmentRequest(
                parent=alice,
                instrument="instruments/brs",
                answers=[4, 2, 3, 3, 4, 2],
                request_id="a",
            )
        )
        .assessment
    )
    assert (submitted.score_hundredths, submitted.band) == (367, "normal")

    def read(caller: asm_grpc.AssessmentServiceStub) -> grpc.StatusCode:
        try:
            listed = caller.ListAssessments(asm.ListAssessmentsRequest(parent=alice))
        except grpc.RpcError as error:
            return error.code()
        assert [a.name for a in listed.assessments] == [submitted.name]
        return grpc.StatusCode.OK

    assert read(stack.assessments_as(alice)) is grpc.StatusCode.OK
    assert read(stack.assessments) is grpc.StatusCode.OK  # the social worker
    assert read(stack.assessments_as(bob)) is grpc.StatusCode.PERMISSION_DENIED
    assert read(stack.assessments_as(bob, "grid_head")) is grpc.StatusCode.PERMISSION_DENIED
    partner = stack.assessments_as(None, service="partner/bank")
    assert read(partner) is grpc.StatusCode.PERMISSION_DENIED
