"""Attendance across real processes: QR/PIN and face sign-in to the balance, reviews, ratings.

identity, attendance and points run as OS processes on their own PostgreSQL databases and one
Redis, on mutual TLS, started once for the session (`shared_stack`); every test registers its
own residents.
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
from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2, envelope_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from PIL import Image

from linli_kit.testing import Stack as RunningStack
from linli_kit.testing import eventually, load_beside, row_count

faces = load_beside(__file__, "faces.py", "linli_integration_faces")

C = "xinhua"
PARENT = f"communities/{C}"
# Long over: a session still open there is a forgotten sign-out as soon as the sweeper looks.
LONG_AGO = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
KIOSK = f"{PARENT}/kiosks/k-gate"


@dataclass
class Stack:
    """Stubs of the three services acting as the staff member, and where attendance keeps data."""

    identity: idn_grpc.IdentityServiceStub
    attendance: att_grpc.AttendanceServiceStub
    points: pts_grpc.PointsServiceStub
    staff: str
    attendance_db: str
    redis: redis.Redis
    stream: str
    running: RunningStack

    def attendance_as(self, resident: str) -> att_grpc.AttendanceServiceStub:
        """Attendance called by the resident themself (their own token)."""
        token = self.running.credentials.token(C, resident.rpartition("/")[2])
        channel = self.running.credentials.channel(
            self.running["attendance"].address, C, token=token
        )
        return att_grpc.AttendanceServiceStub(channel)


@pytest.fixture(scope="module")
def stack(shared_stack: RunningStack) -> Iterator[Stack]:
    """Stubs acting as the community's first social worker, on the session's stack."""
    staff = shared_stack.bootstrap_staff()
    credentials = shared_stack.credentials
    token = credentials.token(C, staff.rpartition("/")[2], "social_worker")
    processes = shared_stack.processes
    channels = {
        name: credentials.channel(p.address, C, token=token) for name, p in processes.items()
    }
    yield Stack(
        idn_grpc.IdentityServiceStub(channels["identity"]),
        att_grpc.AttendanceServiceStub(channels["attendance"]),
        pts_grpc.PointsServiceStub(channels["points"]),
        staff,
        processes["attendance"].settings["database_url"],
        redis.Redis.from_url(processes["points"].settings["redis_url"]),
        f"{processes['points'].settings['stream_prefix']}attendance.events",
        shared_stack,
    )
    for channel in channels.values():
        channel.close()


def _residents(stack: Stack, *names: str) -> list[str]:
    return [
        stack.identity.RegisterResident(
            idn.RegisterResidentRequest(
                parent=PARENT,
                display_name=name,
                phone=f"139{uuid.uuid4().int % 10**8:08d}",
                request_id=str(uuid.uuid4()),
            )
        ).resident.name
        for name in names
    ]


def _recent() -> datetime:
    """A start whose 2 h window ended just now: recent enough for the sweeper to leave alone."""
    return datetime.now(UTC).replace(microsecond=0) - 2 * HOUR - timedelta(minutes=5)


def _start(activity: att.Activity) -> datetime:
    return activity.start_time.ToDatetime(tzinfo=UTC)


def _activity(
    stack: Stack, start: datetime | None = None, hours: int = 2, **fields
) -> att.Activity:
    planned = att.Activity(
        title="楼道清洁",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        place="3号楼",
        **fields,
    )
    start = start or _recent()
    planned.start_time.FromDatetime(start)
    planned.end_time.FromDatetime(start + hours * HOUR)
    request = att.CreateActivityRequest(
        parent=PARENT,
        activity=planned,
        checklist_template="cleaning",
        request_id=str(uuid.uuid4()),
    )
    return stack.attendance.CreateActivity(request).activity


def _on_roster(stack: Stack, activity: att.Activity, *residents: str) -> None:
    """Staff put the residents on the roster of the activity's (first) occurrence."""
    for resident in residents:
        stack.attendance.AddRosterEntry(
            att.AddRosterEntryRequest(
                activity=activity.name,
                occurrence_start_time=activity.start_time,
                resident=resident,
                role=att.ROSTER_ROLE_VOLUNTEER,
                request_id=str(uuid.uuid4()),
            )
        )


def _presence(kind: type, activity: att.Activity, resident: str, at, **extra):
    request = kind(
        activity=activity.name,
        resident=resident,
        method=extra.pop("method", att.SIGN_IN_METHOD_STAFF_CONFIRMED),
        request_id=str(uuid.uuid4()),
        **extra,
    )
    request.time.FromDatetime(at)
    return request


def _balance(stack: Stack, resident: str) -> int:
    request = pts.GetBalanceRequest(name=f"{resident}/balance")
    return stack.points.GetBalance(request).balance.yearly_centipoints


def _service_points(stack: Stack, resident: str) -> int:
    """P1 points in the resident's yearly account: awards, their reversals and rating uplifts.

    Every test gives each resident one session, so this is what that session earned.
    """
    resident_id = resident.rsplit("/", 1)[1]
    history = stack.points.ListTransactions(pts.ListTransactionsRequest(parent=resident))
    return sum(
        posting.amount_centipoints
        for transaction in history.transactions
        if transaction.rule_id.startswith("p1.")
        for posting in transaction.postings
        if resident_id in posting.account and posting.account.endswith(":yearly")
    )


def _serve(stack: Stack, activity: att.Activity, resident: str, hours: int) -> str:
    """Signed in and out by the staff member (who confirms both)."""
    start = _start(activity)
    stack.attendance.SignIn(_presence(att.SignInRequest, activity, resident, start))
    return stack.attendance.SignOut(
        _presence(att.SignOutRequest, activity, resident, start + hours * HOUR)
    ).session.name


def test_qr_and_pin_sign_in_reach_the_balance(stack: Stack) -> None:
    """QR code in, PIN out, by the volunteer herself: 2 h of regular service earn 2 points."""
    (alice,) = _residents(stack, "李娜")
    activity = _activity(stack)  # the staff see the code, shown at the site
    herself = stack.attendance_as(alice)

    herself.SignIn(
        _presence(
            att.SignInRequest,
            activity,
            alice,
            _start(activity) - 10 * timedelta(minutes=1),
            method=att.SIGN_IN_METHOD_QR_CODE,
            code=activity.check_in_code,
        )
    )
    session = herself.SignOut(
        _presence(
            att.SignOutRequest,
            activity,
            alice,
            _start(activity) + 2 * HOUR,
            method=att.SIGN_IN_METHOD_PIN,
            code=activity.check_in_code,
        )
    ).session

    assert (session.sign_in.method, session.sign_out.method) == (
        att.SIGN_IN_METHOD_QR_CODE,
        att.SIGN_IN_METHOD_PIN,
    )
    assert session.duration_seconds == 2 * 3600
    assert eventually(lambda: _service_points(stack, alice), 200) == 200
    assert _balance(stack, alice) >= 200


def test_a_wrong_pin_is_refused_and_records_nothing(stack: Stack) -> None:
    (bob,) = _residents(stack, "张伟")
    activity = _activity(stack)
    before = row_count(stack.attendance_db, "sessions")
    wrong = "000000" if activity.check_in_code != "000000" else "111111"

    with pytest.raises(grpc.RpcError) as refused:
        stack.attendance_as(bob).SignIn(
            _presence(
                att.SignInRequest,
                activity,
                bob,
                _start(activity),
                method=att.SIGN_IN_METHOD_PIN,
                code=wrong,
            )
        )

    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert row_count(stack.attendance_db, "sessions") == before


def test_a_forgotten_sign_out_earns_nothing_until_staff_confirm(stack: Stack) -> None:
    (carol,) = _residents(stack, "陈静")
    activity = _activity(stack, start=LONG_AGO)
    opened = stack.attendance.SignIn(
        _presence(att.SignInRequest, activity, carol, LONG_AGO)
    ).session

    def status() -> int:
        request = att.GetSessionRequest(name=opened.name)
        return stack.attendance.GetSession(request).session.status

    assert eventually(status, att.SESSION_STATUS_PENDING_REVIEW) == (
        att.SESSION_STATUS_PENDING_REVIEW
    )
    flags = stack.attendance.ListFlags(att.ListFlagsRequest(parent=PARENT, open_only=True)).flags
    assert [f.kind for f in flags if f.session == opened.name] == [att.FLAG_KIND_FORGOTTEN_SIGN_OUT]
    time.sleep(1)  # give a wrongly published award the time to show
    assert _balance(stack, carol) == 0

    confirmed = stack.attendance.ConfirmSession(
        att.ConfirmSessionRequest(name=opened.name, request_id="c1")
    ).session

    assert (confirmed.status, confirmed.duration_seconds) == (
        att.SESSION_STATUS_COMPLETED,
        2 * 3600,
    )
    assert eventually(lambda: _service_points(stack, carol), 200) == 200


def test_a_correction_reverses_and_re_awards(stack: Stack) -> None:
    (dan,) = _residents(stack, "刘洋")
    activity = _activity(stack)
    session = _serve(stack, activity, dan, hours=2)
    assert eventually(lambda: _service_points(stack, dan), 200) == 200

    corrected = stack.attendance.CorrectSession(
        att.CorrectSessionRequest(
            name=session,
            duration_seconds=3600,
            reason="left after the first hour",
            request_id="k1",
        )
    ).session

    assert [(c.previous_duration_seconds, c.duration_seconds) for c in corrected.corrections] == [
        (7200, 3600)
    ]
    assert eventually(lambda: _service_points(stack, dan), 100) == 100
    history = stack.points.ListTransactions(pts.ListTransactionsRequest(parent=dan)).transactions
    movements = [
        posting.amount_centipoints
        for transaction in history
        if transaction.rule_id.startswith("p1.")
        for posting in transaction.postings
        if dan.rsplit("/", 1)[1] in posting.account and posting.account.endswith(":yearly")
    ]
    assert sorted(movements) == [-200, 100, 200]  # the award, its reversal, the new award


def test_five_stars_raise_the_award_by_ten_percent(stack: Stack) -> None:
    eve, grandma = _residents(stack, "赵敏", "孙奶奶")
    activity = _activity(stack)
    session = _serve(stack, activity, eve, hours=2)
    assert eventually(lambda: _service_points(stack, eve), 200) == 200

    stack.attendance.RecordServed(
        att.RecordServedRequest(session=session, residents=[grandma], request_id="v1")
    )
    rating = (
        stack.attendance_as(grandma)
        .RateSession(att.RateSessionRequest(session=session, stars=5, request_id="r1"))
        .rating
    )

    assert rating.stars == 5
    assert eventually(lambda: _service_points(stack, eve), 220) == 220


def test_only_a_resident_served_can_rate(stack: Stack) -> None:
    fay, neighbour = _residents(stack, "周芳", "邻居")
    session = _serve(stack, _activity(stack), fay, hours=2)
    assert eventually(lambda: _service_points(stack, fay), 200) == 200

    with pytest.raises(grpc.RpcError) as refused:
        stack.attendance_as(neighbour).RateSession(
            att.RateSessionRequest(session=session, stars=5, request_id="r2")
        )

    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    time.sleep(1)  # give a wrongly published uplift the time to show
    assert _service_points(stack, fay) == 200


def test_a_paper_sign_in_sheet_entered_long_after_awards_points(stack: Stack) -> None:
    """One call, long past the forgotten sign-out grace: completed at once, never swept."""
    (gus,) = _residents(stack, "吴刚")
    activity = _activity(stack, start=LONG_AGO)
    request = att.EnterPaperSessionRequest(
        activity=activity.name,
        resident=gus,
        reason="the kiosk was down; signed on paper",
        request_id=str(uuid.uuid4()),
    )
    request.sign_in_time.FromDatetime(LONG_AGO)
    request.sign_out_time.FromDatetime(LONG_AGO + 2 * HOUR)

    session = stack.attendance.EnterPaperSession(request).session

    assert (session.status, session.duration_seconds) == (att.SESSION_STATUS_COMPLETED, 7200)
    assert session.sign_in.method == att.SIGN_IN_METHOD_PAPER_SHEET
    assert eventually(lambda: _service_points(stack, gus), 200) == 200
    flags = stack.attendance.ListFlags(att.ListFlagsRequest(parent=PARENT, open_only=True)).flags
    assert [f for f in flags if f.session == session.name] == []


def test_face_sign_in_and_out_at_a_kiosk_reach_points(stack: Stack) -> None:
    """Enrolled with a real photo, a live burst signs in and out; the record keeps the decision.

    A kiosk signs in at the real time, so the counted duration is a few seconds: what is
    checked is that points applied this session's SessionCompleted with P1 on that duration.
    """
    tom = faces.tom()
    (volunteer,) = _residents(stack, "汤姆")
    stack.identity.GrantFaceConsent(
        idn.GrantFaceConsentRequest(
            parent=volunteer, policy_version="2026-01", retention_days=365, request_id="consent"
        )
    )
    stack.identity.EnrolFace(
        idn.EnrolFaceRequest(resident=volunteer, image=faces.jpeg(tom), request_id="enrol")
    )
    now = datetime.now(UTC)
    activity = _activity(stack, start=now - HOUR, kiosks=[KIOSK])
    _on_roster(stack, activity, volunteer)
    burst = {
        "activity": activity.name,
        "kiosk": KIOSK,
        "frames": faces.head_turn(tom),
        "challenge": att.LIVENESS_CHALLENGE_HEAD_TURN,
    }

    opened = stack.attendance.FaceSignIn(att.FaceSignInRequest(**burst, request_id="f1")).session
    closed = stack.attendance.FaceSignOut(att.FaceSignOutRequest(**burst, request_id="f2")).session

    assert opened.resident == volunteer and closed.name == opened.name
    for record in (closed.sign_in, closed.sign_out):
        assert (record.method, record.kiosk, record.face.engine) == (
            att.SIGN_IN_METHOD_FACE,
            KIOSK,
            "dlib",
        )
        assert record.face.model_version
        assert record.face.similarity >= record.face.threshold > 0
        # The open-set record: one enrolled on the roster (sign-in) and signed in (sign-out).
        assert (record.face.gallery_size, record.face.needs_staff_confirmation) == (1, False)
        assert record.face.verification_threshold > 0 and record.face.frames == 5

    # Points acknowledges an entry only after committing its effect.
    assert eventually(lambda: _acknowledged(stack, closed.name), 1) == 1
    # P1 on the counted seconds: a regular hour is 100 hundredths, part hours rounded down.
    assert _service_points(stack, volunteer) == closed.duration_seconds * 100 // 3600


def _about(fields: dict[bytes, bytes], session: str) -> bool:
    try:
        envelope = envelope_pb2.EventEnvelope.FromString(fields[b"envelope"])
    except DecodeError:  # another flow's garbage on the shared stream (the dead-letter test)
        return False
    completed = attendance_events_pb2.SessionCompleted()
    return envelope.payload.Unpack(completed) and completed.session == session


def _acknowledged(stack: Stack, session: str) -> int:
    """1 once points' consumer group has acknowledged the session's SessionCompleted."""
    entry_id = next(
        (entry for entry, fields in stack.redis.xrange(stack.stream) if _about(fields, session)),
        None,
    )
    if entry_id is None:
        return 0
    for group in stack.redis.xinfo_groups(stack.stream):
        pending = stack.redis.xpending_range(
            stack.stream, group["name"], min=entry_id, max=entry_id, count=1
        )
        if group["last-delivered-id"] >= entry_id and not pending:
            return 1
    return 0


def _refused(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value.code()


def test_bad_input_is_refused_with_clear_codes_and_records_nothing(stack: Stack) -> None:
    (fay,) = _residents(stack, "周芳")
    now = datetime.now(UTC)
    bound = _activity(stack, start=now - HOUR, kiosks=[KIOSK])
    closed = _activity(stack)
    stack.attendance.CloseActivity(att.CloseActivityRequest(name=closed.name, request_id="x1"))
    blank = faces.jpeg(Image.new("RGB", (224, 224), (200, 200, 200)))
    _on_roster(stack, bound, fay)
    unknown = att.Activity(name=f"{PARENT}/activities/a-nothing-here")
    before = row_count(stack.attendance_db, "sessions"), row_count(stack.attendance_db, "flags")

    codes = {
        "unknown activity": _refused(
            lambda: stack.attendance.SignIn(_presence(att.SignInRequest, unknown, fay, now))
        ),
        "closed activity": _refused(
            lambda: stack.attendance.SignIn(
                _presence(att.SignInRequest, closed, fay, _start(closed))
            )
        ),
        "kiosk not bound": _refused(
            lambda: stack.attendance.FaceSignIn(
                att.FaceSignInRequest(
                    activity=bound.name,
                    kiosk=f"{PARENT}/kiosks/k-elsewhere",
                    frames=[blank] * 3,
                    challenge=att.LIVENESS_CHALLENGE_BLINK,
                )
            )
        ),
        "burst with no face": _refused(
            lambda: stack.attendance.FaceSignIn(
                att.FaceSignInRequest(
                    activity=bound.name,
                    kiosk=KIOSK,
                    frames=[blank] * 3,
                    challenge=att.LIVENESS_CHALLENGE_BLINK,
                )
            )
        ),
    }

    assert codes == {
        "unknown activity": grpc.StatusCode.NOT_FOUND,
        "closed activity": grpc.StatusCode.FAILED_PRECONDITION,
        "kiosk not bound": grpc.StatusCode.PERMISSION_DENIED,
        "burst with no face": grpc.StatusCode.INVALID_ARGUMENT,
    }
    assert (
        row_count(stack.attendance_db, "sessions"),
        row_count(stack.attendance_db, "flags"),
    ) == before


def test_a_still_photo_fails_liveness_and_records_nothing(stack: Stack) -> None:
    """The same photo five times is no head turn: identity refuses, attendance records nothing."""
    tom = faces.tom()
    activity = _activity(stack, start=datetime.now(UTC) - HOUR, kiosks=[KIOSK])
    _on_roster(stack, activity, *_residents(stack, "汤米"))
    before = row_count(stack.attendance_db, "sessions")

    code = _refused(
        lambda: stack.attendance.FaceSignIn(
            att.FaceSignInRequest(
                activity=activity.name,
                kiosk=KIOSK,
                frames=[faces.jpeg(tom)] * 5,
                challenge=att.LIVENESS_CHALLENGE_HEAD_TURN,
            )
        )
    )

    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert row_count(stack.attendance_db, "sessions") == before
