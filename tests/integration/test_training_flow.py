"""Training across real processes: courses signed in through attendance, paid by points' P5.

identity, attendance, points and training run as OS processes on their own PostgreSQL
databases and one Redis, on mutual TLS (the session's `shared_stack`). Training plans each
course session's sign-in activity in attendance with its own certificate; volunteers' time
comes back as attendance's SessionCompleted (or SessionCorrected), is credited once by training
and published on training.events, where points pays it with the P5 training rule and never a
P1 rate.

The community's catalogue is the policy's courses and levels plus, for a path walked in real
time at a kiosk, its own one-minute beginner course (a quarter of it, 15 s, completes it; one
credit) and a first level needing one credit (见习志愿者, a 20-yuan allowance).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import redis
from google.protobuf.message import DecodeError
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.events.v1 import attendance_events_pb2, envelope_pb2, training_events_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.training.v1 import assessment_service_pb2 as asm
from linli.training.v1 import assessment_service_pb2_grpc as asm_grpc
from linli.training.v1 import training_service_pb2 as trn
from linli.training.v1 import training_service_pb2_grpc as trn_grpc

from linli_kit.testing import Stack as RunningStack
from linli_kit.testing import eventually, load_beside

C = "xinhua"
PARENT = f"communities/{C}"
HOUR = timedelta(hours=1)
# Course days of this policy year, 09:00 in Asia/Shanghai, one course a day (the daily cap).
NOVEMBER = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BEGINNER = (("volunteering-ideas", 4), ("safety", 2), ("communication", 3))
SHORT = "kiosk-practice"
KIOSK = f"{PARENT}/kiosks/k-training"
faces = load_beside(__file__, "faces.py", "linli_integration_faces")


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
    short = trn.Course(
        title="自助签到机与安全须知",
        tier=trn.TIER_BEGINNER,
        minutes=1,
        completion_percent=25,
    )
    training.CreateCourse(
        trn.CreateCourseRequest(parent=PARENT, course_id=SHORT, course=short, request_id="short")
    )
    first = trn.Level(title="见习志愿者", credits_needed=1, allowance_fen=2000)
    training.CreateLevel(
        trn.CreateLevelRequest(parent=PARENT, level_id="trainee", level=first, request_id="first")
    )
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


def _schedule(
    stack: Training, course: str, start: datetime, hours: float, capacity: int = 20, **fields
) -> trn.CourseSession:
    session = trn.CourseSession(
        course=f"{PARENT}/courses/{course}",
        teacher=stack.teacher,
        place="社区党群服务中心",
        capacity=capacity,
        **fields,
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
    for day, (course, hours) in enumerate((*BEGINNER, (SHORT, 1 / 60))):
        held = _schedule(stack, course, NOVEMBER + timedelta(days=day), hours)
        assert held.activity.startswith(f"{PARENT}/activities/")
        _attend(stack, held, volunteer, hours)

    assert eventually(lambda: _progress(stack, volunteer).credits, 10) == 10
    progress = _progress(stack, volunteer)
    assert progress.level_title == "一星志愿者"
    assert sorted(c.course.rsplit("/", 1)[1] for c in progress.courses if c.completed) == sorted(
        [SHORT, *(c for c, _ in BEGINNER)]
    )
    # 9 hours and a minute at the P5 training rate (1 point an hour, part hours rounded down)
    # and the two promotions' P5 rewards (见习志愿者 after the first course, then 一星); no P1.
    expected = {"p5.training": 901, "p5.training_level": 1000}
    assert eventually(lambda: len(_earned(stack, volunteer)), 2) == 2
    assert eventually(lambda: _earned(stack, volunteer) == expected, True), _earned(
        stack, volunteer
    )
    allowances = stack.training.ListAllowances(
        trn.ListAllowancesRequest(parent=volunteer, unpaid_only=True)
    ).allowances
    assert sorted((a.level_title, a.amount_fen, a.paid) for a in allowances) == [
        ("一星志愿者", 5000, False),
        ("见习志愿者", 2000, False),
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


def _matching_entry(stack: Training, stream: str, kind: type, match) -> dict[bytes, bytes] | None:
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
    return None


def _stream_entry(stack: Training, stream: str, kind: type, match) -> dict[bytes, bytes]:
    """The first entry of the stream holding a matching event, once the relay has published it
    (it does so after the commit, in the background)."""
    published = eventually(lambda: _matching_entry(stack, stream, kind, match) is not None, True)
    assert published, f"no such entry on {stream}"
    found = _matching_entry(stack, stream, kind, match)
    assert found is not None
    return found


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
    # Nothing from P1, nothing twice; the first level (one credit) rewarded once.
    assert eventually(lambda: _earned(stack, volunteer).get("p5.training_level", 0), 500) == 500
    assert _earned(stack, volunteer) == {"p5.training": 500, "p5.training_level": 500}
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
    listed = stack.assessments_as(alice).ListInstruments(asm.ListInstrumentsRequest())
    scoring = {i.name: i.scoring for i in listed.instruments}
    assert "below 40 lower" in scoring["instruments/teq"]  # the community's bands (the default)

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


def _enrol(stack: Training, session: trn.CourseSession, resident: str) -> trn.CourseSession:
    request = trn.EnrolRequest(
        session=session.name, resident=resident, request_id=str(uuid.uuid4())
    )
    return stack.training.Enrol(request).session


def _refused(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value.code(), refused.value.details() or ""


def test_a_volunteers_path_by_kiosk_face_sign_in_to_a_level_p5_points_and_an_allowance(
    stack: Training,
) -> None:
    """Real time at a kiosk: the one-minute course is completed by 15 s signed in by face."""
    face = faces.group_faces()[1]  # the kiosk identifies among the session's roster
    volunteer = _resident(stack, "林小芳")
    stack.identity.GrantFaceConsent(
        idn.GrantFaceConsentRequest(
            parent=volunteer, policy_version="2026-01", retention_days=365, request_id=volunteer
        )
    )
    stack.identity.EnrolFace(
        idn.EnrolFaceRequest(resident=volunteer, image=faces.jpeg(face), request_id=volunteer)
    )
    now = datetime.now(UTC).replace(microsecond=0)
    held = _schedule(stack, SHORT, now - timedelta(minutes=1), 0.25, kiosks=[KIOSK])
    _enrol(stack, held, volunteer)  # staff at the door: on the activity's roster at once
    roster = stack.attendance.ListRosterEntries(
        att.ListRosterEntriesRequest(activity=held.activity)
    )
    assert [e.resident for e in roster.entries] == [volunteer]
    burst = {
        "activity": held.activity,
        "kiosk": KIOSK,
        "frames": faces.head_turn(face),
        "challenge": att.LIVENESS_CHALLENGE_HEAD_TURN,
    }

    opened = stack.attendance.FaceSignIn(att.FaceSignInRequest(**burst, request_id=volunteer))
    assert opened.session.resident == volunteer
    time.sleep(16)  # the course's completion share: 25 % of a minute
    closed = stack.attendance.FaceSignOut(
        att.FaceSignOutRequest(**burst, request_id=f"{volunteer}/out")
    ).session

    assert closed.sign_out.method == att.SIGN_IN_METHOD_FACE and closed.duration_seconds >= 15
    assert eventually(lambda: _progress(stack, volunteer).credits, 1) == 1
    progress = _progress(stack, volunteer)
    (done,) = [c for c in progress.courses if c.completed]
    assert done.course.endswith(f"/{SHORT}") and done.attended_seconds == closed.duration_seconds
    assert progress.level_title == "见习志愿者"
    # The promotion's P5 reward in the balance; the seconds at the P5 training rate round to
    # nothing (100 hundredths an hour); no P1 for a course.
    assert eventually(lambda: _earned(stack, volunteer).get("p5.training_level", 0), 500) == 500
    assert eventually(lambda: _balance(stack, volunteer), 500) == 500
    assert not [rule for rule in _earned(stack, volunteer) if rule.startswith("p1.")]
    (allowance,) = stack.training.ListAllowances(
        trn.ListAllowancesRequest(parent=volunteer)
    ).allowances
    assert (allowance.level_title, allowance.amount_fen, allowance.paid) == (
        "见习志愿者",
        2000,
        False,
    )

    advanced = _schedule(stack, "resource-integration", now + 24 * HOUR, 2)
    code, why = _refused(
        lambda: stack.training_as(volunteer).Enrol(
            trn.EnrolRequest(session=advanced.name, resident=volunteer, request_id=volunteer)
        )
    )
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "core volunteers only" in why


def test_a_cancelled_session_releases_everyone_closes_its_activity_and_keeps_taught_minutes(
    stack: Training,
) -> None:
    seated, waiting = _resident(stack, "何一"), _resident(stack, "何二")
    now = datetime.now(UTC).replace(microsecond=0)
    held = _schedule(stack, "safety", now - timedelta(minutes=10), 2, capacity=1)
    _enrol(stack, held, seated)
    _enrol(stack, held, waiting)
    before = stack.training.GetTeachingReport(trn.GetTeachingReportRequest(parent=PARENT))

    cancel = trn.CancelCourseSessionRequest(name=held.name, reason="讲师临时生病", request_id="x1")
    cancelled = stack.training.CancelCourseSession(cancel).session
    again = stack.training.CancelCourseSession(cancel).session  # a retry: the same answer

    assert cancelled.cancelled and cancelled.cancel_reason == "讲师临时生病"
    assert again.cancel_time == cancelled.cancel_time
    activity = stack.attendance.GetActivity(att.GetActivityRequest(name=held.activity)).activity
    assert activity.HasField("close_time")
    sign_in = att.SignInRequest(
        activity=held.activity,
        resident=seated,
        method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
        request_id=str(uuid.uuid4()),
    )
    code, why = _refused(lambda: stack.attendance.SignIn(sign_in))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "closed" in why
    code, why = _refused(lambda: _enrol(stack, held, _resident(stack, "何三")))
    assert code is grpc.StatusCode.FAILED_PRECONDITION and "cancelled" in why
    told = _stream_entry(
        stack,
        "training.events",
        training_events_pb2.CourseSessionCancelled,
        lambda e: e.course_session == held.name,
    )
    event = training_events_pb2.CourseSessionCancelled()
    envelope_pb2.EventEnvelope.FromString(told[b"envelope"]).payload.Unpack(event)
    assert (list(event.released_enrolled), list(event.released_waiting)) == ([seated], [waiting])

    # An activity staff already closed in attendance: the cancellation finds it closed.
    later = _schedule(stack, "safety", now + 48 * HOUR, 2)
    stack.attendance.CloseActivity(
        att.CloseActivityRequest(name=later.activity, request_id=f"close-{later.activity}")
    )
    cancel_later = trn.CancelCourseSessionRequest(
        name=later.name, reason="场地维修", request_id="x2"
    )
    assert stack.training.CancelCourseSession(cancel_later).session.cancelled

    # The ten minutes it ran are taught face to face; nothing more can be recorded.
    taught = stack.training.RecordSessionTaught(
        trn.RecordSessionTaughtRequest(name=held.name, request_id=f"taught-{held.name}")
    ).session
    after = stack.training.GetTeachingReport(trn.GetTeachingReportRequest(parent=PARENT))
    assert 10 <= taught.taught_minutes <= 11
    assert after.taught_minutes - before.taught_minutes == taught.taught_minutes


def test_a_voided_course_session_in_attendance_withdraws_its_credits_once_and_keeps_the_level(
    stack: Training,
) -> None:
    volunteer = _resident(stack, "孔小明")
    held = _schedule(stack, "communication", NOVEMBER + timedelta(days=12), 3)
    attended = _attend(stack, held, volunteer, 3)
    assert eventually(lambda: _progress(stack, volunteer).credits, 3) == 3
    assert _progress(stack, volunteer).level_title == "见习志愿者"
    assert eventually(lambda: _balance(stack, volunteer), 300 + 500) == 800  # 3 h, the level

    def correct(seconds: int, request_id: str) -> None:
        stack.attendance.CorrectSession(
            att.CorrectSessionRequest(
                name=attended, duration_seconds=seconds, reason="签到表有误", request_id=request_id
            )
        )

    correct(0, f"void-{attended}")
    assert eventually(lambda: _progress(stack, volunteer).credits, 0) == 0
    assert eventually(lambda: _balance(stack, volunteer), 500) == 500  # the 3 h reversed
    voided = _stream_entry(
        stack,
        "attendance.events",
        attendance_events_pb2.SessionCorrected,
        lambda e: e.session == attended,
    )
    _redeliver(stack, "attendance.events", voided)  # the same event id, delivered again
    correct(3600, f"hour-{attended}")  # once this is followed, the redelivery before it was too

    def seconds() -> int:
        courses = _progress(stack, volunteer).courses
        return sum(c.attended_seconds for c in courses if c.course.endswith("/communication"))

    assert eventually(seconds, 3600) == 3600
    progress = _progress(stack, volunteer)
    assert (progress.credits, progress.level_title) == (0, "见习志愿者")  # no demotion
    corrected = training_events_pb2.TrainingAttendanceCorrected
    assert eventually(lambda: len(_entries(stack, corrected, attended)), 2) == 2
    told = _entries(stack, corrected, attended)
    assert [(e.previous_duration_seconds, e.duration_seconds) for e in told] == [
        (10800, 0),
        (0, 3600),
    ]
    # Points followed: the void reversed the 3 h, the correction paid 1 h; the level's reward
    # stays (no demotion); the redelivered void reversed nothing twice; no P1.
    assert eventually(lambda: _balance(stack, volunteer), 500 + 100) == 600
    assert _earned(stack, volunteer) == {"p5.training": 100, "p5.training_level": 500}


def _entries(stack: Training, kind: type, session: str) -> list:
    """Every entry of the kind on training.events about an attendance session."""
    client = redis.Redis.from_url(stack.running["points"].settings["redis_url"])
    prefix = stack.running["points"].settings["stream_prefix"]
    found = []
    try:
        for _, fields in client.xrange(f"{prefix}training.events"):
            message = kind()
            envelope = envelope_pb2.EventEnvelope.FromString(fields[b"envelope"])
            if envelope.payload.Unpack(message) and message.session == session:
                found.append(message)
    finally:
        client.close()
    return found


def _balance(stack: Training, resident: str) -> int:
    request = pts.GetBalanceRequest(name=f"{resident}/balance")
    return stack.points.GetBalance(request).balance.yearly_centipoints
