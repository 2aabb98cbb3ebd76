"""A kiosk over real processes names only the people on its occurrence's roster (issue #19).

identity, attendance and points run as OS processes (the session's `shared_stack`) with the
dlib engine and its shipped thresholds; the faces are real photos (tests/integration/faces.py:
the six people of insightface's group photo). Few faces are enrolled: each burst costs
identity about five face analyses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc

from linli_kit.testing import Stack, load_beside, row_count

faces = load_beside(__file__, "faces.py", "linli_integration_faces")
C = "xinhua"
PARENT = f"communities/{C}"
KIOSK = f"{PARENT}/kiosks/k-roster"
HOUR = timedelta(hours=1)


@dataclass
class Kiosk:
    """Stubs acting as the community's social worker, and how to call as someone else."""

    identity: idn_grpc.IdentityServiceStub
    attendance: att_grpc.AttendanceServiceStub
    as_resident: Callable[[str], att_grpc.AttendanceServiceStub]
    attendance_db: str


@pytest.fixture(scope="module")
def kiosk(shared_stack: Stack) -> Iterator[Kiosk]:
    staff = shared_stack.bootstrap_staff()
    credentials = shared_stack.credentials
    token = credentials.token(C, staff.rpartition("/")[2], "social_worker")
    processes = shared_stack.processes
    channels = [
        credentials.channel(processes[name].address, C, token=token)
        for name in ("identity", "attendance")
    ]

    def as_resident(resident: str) -> att_grpc.AttendanceServiceStub:
        own = credentials.token(C, resident.rpartition("/")[2], "volunteer")
        channel = credentials.channel(processes["attendance"].address, C, token=own)
        channels.append(channel)
        return att_grpc.AttendanceServiceStub(channel)

    yield Kiosk(
        idn_grpc.IdentityServiceStub(channels[0]),
        att_grpc.AttendanceServiceStub(channels[1]),
        as_resident,
        processes["attendance"].settings["database_url"],
    )
    for channel in channels:
        channel.close()


def _resident(kiosk: Kiosk, name: str, photo: bytes | None = None) -> str:
    """A registered resident; with a photo, also consenting and enrolled."""
    resident = kiosk.identity.RegisterResident(
        idn.RegisterResidentRequest(
            parent=PARENT,
            display_name=name,
            phone=f"137{uuid.uuid4().int % 10**8:08d}",
            request_id=str(uuid.uuid4()),
        )
    ).resident.name
    if photo is not None:
        kiosk.identity.GrantFaceConsent(
            idn.GrantFaceConsentRequest(
                parent=resident,
                policy_version="2026-01",
                retention_days=365,
                request_id=str(uuid.uuid4()),
            )
        )
        kiosk.identity.EnrolFace(
            idn.EnrolFaceRequest(resident=resident, images=[photo], request_id=str(uuid.uuid4()))
        )
    return resident


def _activity(kiosk: Kiosk) -> att.Activity:
    planned = att.Activity(
        title="社区巡逻",
        kind=att.ACTIVITY_KIND_ROUTINE,
        service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        place=f"岗亭 {uuid.uuid4().hex[:6]}",
        kiosks=[KIOSK],
    )
    start = datetime.now(UTC).replace(microsecond=0) - HOUR
    planned.start_time.FromDatetime(start)
    planned.end_time.FromDatetime(start + 2 * HOUR)
    request = att.CreateActivityRequest(
        parent=PARENT, activity=planned, request_id=str(uuid.uuid4())
    )
    return kiosk.attendance.CreateActivity(request).activity


def _add(stub: att_grpc.AttendanceServiceStub, activity: att.Activity, resident: str):
    return stub.AddRosterEntry(
        att.AddRosterEntryRequest(
            activity=activity.name,
            occurrence_start_time=activity.start_time,
            resident=resident,
            role=att.ROSTER_ROLE_VOLUNTEER,
            request_id=str(uuid.uuid4()),
        )
    ).entry


def _burst(kind: type, activity: att.Activity, photo) -> object:
    return kind(
        activity=activity.name,
        kiosk=KIOSK,
        frames=faces.head_turn(photo),
        challenge=att.LIVENESS_CHALLENGE_HEAD_TURN,
        request_id=str(uuid.uuid4()),
    )


def _refused(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value.code(), refused.value.details() or ""


def test_only_the_roster_is_identified_and_a_stranger_is_refused(kiosk: Kiosk) -> None:
    people = faces.group_faces()
    expected = _resident(kiosk, "安安", faces.jpeg(people[0]))
    elsewhere = _resident(kiosk, "博博", faces.jpeg(people[3]))  # enrolled, not expected here
    activity = _activity(kiosk)
    # A volunteer signs themself up; staff would do the same for anyone.
    mine = _add(kiosk.as_resident(expected), activity, expected)
    sessions_before = row_count(kiosk.attendance_db, "sessions")

    not_on_roster = _refused(
        lambda: kiosk.attendance.FaceSignIn(_burst(att.FaceSignInRequest, activity, people[3]))
    )
    stranger = _refused(
        lambda: kiosk.attendance.FaceSignIn(_burst(att.FaceSignInRequest, activity, people[5]))
    )
    opened = kiosk.attendance.FaceSignIn(_burst(att.FaceSignInRequest, activity, people[0])).session

    assert (mine.resident, mine.added_by) == (expected, expected)
    assert not_on_roster[0] is grpc.StatusCode.NOT_FOUND and elsewhere not in not_on_roster[1]
    assert stranger[0] is grpc.StatusCode.NOT_FOUND
    assert row_count(kiosk.attendance_db, "sessions") == sessions_before + 1
    assert opened.resident == expected
    face = opened.sign_in.face
    assert (face.gallery_size, face.needs_staff_confirmation, face.engine) == (1, False, "dlib")
    assert face.similarity >= face.threshold >= face.verification_threshold > 0
    listed = kiosk.attendance.ListRosterEntries(
        att.ListRosterEntriesRequest(
            activity=activity.name, occurrence_start_time=activity.start_time
        )
    )
    assert [e.resident for e in listed.entries] == [expected]


def test_look_alikes_are_a_close_call_held_until_staff_confirm(kiosk: Kiosk) -> None:
    """Twins (two residents enrolled from one photo): the kiosk cannot tell them apart."""
    twin = faces.jpeg(faces.group_faces()[1])
    first, second = _resident(kiosk, "大双", twin), _resident(kiosk, "小双", twin)
    activity = _activity(kiosk)
    for resident in (first, second):
        _add(kiosk.attendance, activity, resident)

    opened = kiosk.attendance.FaceSignIn(
        _burst(att.FaceSignInRequest, activity, faces.group_faces()[1])
    ).session
    held = kiosk.attendance.SignOut(
        att.SignOutRequest(
            activity=activity.name,
            resident=opened.resident,
            method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
            request_id=str(uuid.uuid4()),
        )
    ).session

    face = opened.sign_in.face
    assert opened.resident in (first, second) and face.needs_staff_confirmation
    assert (face.gallery_size, face.similarity - face.second_similarity < face.required_margin) == (
        2,
        True,
    )
    assert held.status == att.SESSION_STATUS_PENDING_REVIEW
    flags = kiosk.attendance.ListFlags(att.ListFlagsRequest(parent=PARENT, open_only=True)).flags
    assert att.FLAG_KIND_FACE_UNCERTAIN in [f.kind for f in flags if f.session == opened.name]
    confirmed = kiosk.attendance.ConfirmSession(
        att.ConfirmSessionRequest(name=held.name, request_id=str(uuid.uuid4()))
    ).session
    assert confirmed.status == att.SESSION_STATUS_COMPLETED
