"""The kiosk: which activity and kiosk a browser is bound to, face bursts, QR/PIN sign-ins.

A kiosk is a browser signed in as its operator, a staff member or core volunteer of the
community: attendance admits FaceSignIn/FaceSignOut for those roles (its README) and checks
that the kiosk named is bound to the activity. No kiosk principal exists; the binding
(activity, kiosk) lives in the operator's session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.identity.v1 import identity_service_pb2 as idn
from pydantic import BaseModel

from linli_gateway.adapters.services import Services
from linli_gateway.entrypoints.sessions import Person
from linli_gateway.entrypoints.views.common import last

# A burst: the browser sends 8 frames; identity accepts 3 to 30. Each frame is a JPEG of a
# camera picture (≤ 640 px a side is ~60 KB); the whole request is also bounded by
# LINLI_GATEWAY_MAX_BODY_BYTES.
MIN_FRAMES, MAX_FRAMES = 3, 12
MAX_FRAME_BYTES = 512 * 1024
JPEG_MAGIC = b"\xff\xd8\xff"
CHALLENGES = {"blink": att.LIVENESS_CHALLENGE_BLINK, "head_turn": att.LIVENESS_CHALLENGE_HEAD_TURN}
# Sign-in opens 30 minutes before an occurrence (attendance's rule); bindable until its end.
EARLY = timedelta(minutes=30)
ACTIVITIES_PAGE = 200


class BurstRefused(ValueError):
    """A burst the gateway refuses before any service sees it (count, size, type)."""


class Binding(BaseModel):
    """The activity and kiosk a browser signs people in to."""

    activity: str
    kiosk: str


class Bindable(BaseModel):
    """An activity running now (or soon) with a kiosk bound to it."""

    activity: str
    kiosk: str
    title: str
    place: str

    @property
    def value(self) -> str:
        """The form's value: activity id and kiosk id."""
        return f"{last(self.activity)}|{last(self.kiosk)}"


class Screen(BaseModel):
    """What the kiosk's screen shows: the activity, and its check-in code for the QR/PIN way."""

    binding: Binding
    title: str
    place: str
    check_in_code: str


class Outcome(BaseModel):
    """What a sign-in or sign-out did, as the screen shows it in large type."""

    direction: str  # "in" or "out"
    name: str  # the resident's name masked as the public board masks it; "" when not shown
    confirm: bool  # a close call: staff will confirm who it was
    duration_seconds: int
    session: str


def masked(display_name: str) -> str:
    """A name as the public board shows it: first and last character only (李*, 王*明)."""
    name = display_name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def frames_checked(frames: list[bytes]) -> list[bytes]:
    """The burst if it is one the services may be asked about; else BurstRefused."""
    if not MIN_FRAMES <= len(frames) <= MAX_FRAMES:
        raise BurstRefused(f"a burst is {MIN_FRAMES} to {MAX_FRAMES} frames, not {len(frames)}")
    for frame in frames:
        if len(frame) > MAX_FRAME_BYTES:
            raise BurstRefused(f"a frame is at most {MAX_FRAME_BYTES} bytes")
        if not frame.startswith(JPEG_MAGIC):
            raise BurstRefused("frames are JPEG pictures")
    return frames


def _current(activity: att.Activity, now: datetime) -> bool:
    """Whether an occurrence of the activity is open for sign-in now (and it is not closed)."""
    if activity.HasField("close_time"):
        return False
    windows = activity.occurrences or [
        att.TimeWindow(start_time=activity.start_time, end_time=activity.end_time)
    ]
    for window in windows:
        start = window.start_time.ToDatetime(tzinfo=UTC)
        end = window.end_time.ToDatetime(tzinfo=UTC)
        if start - EARLY <= now <= end:
            return True
    return False


async def bindable(svc: Services, person: Person, now: datetime) -> list[Bindable]:
    """The community's activities open now that have kiosks, one entry a kiosk."""
    ask = att.ListActivitiesRequest(
        parent=f"communities/{person.community}", page_size=ACTIVITIES_PAGE
    )
    found: list[Bindable] = []
    while True:
        reply = await svc.attendance.ListActivities(
            ask, metadata=person.metadata, timeout=svc.timeout
        )
        for activity in reply.activities:
            if not _current(activity, now):
                continue
            found += [
                Bindable(
                    activity=activity.name, kiosk=k, title=activity.title, place=activity.place
                )
                for k in activity.kiosks
            ]
        if not reply.next_page_token:
            return found
        ask.page_token = reply.next_page_token


async def bind(svc: Services, person: Person, value: str) -> Binding | None:
    """The binding a form's value names if the activity exists and the kiosk is bound to it."""
    activity_id, _, kiosk_id = value.partition("|")
    community = f"communities/{person.community}"
    activity_name, kiosk_name = (
        f"{community}/activities/{activity_id}",
        f"{community}/kiosks/{kiosk_id}",
    )
    reply = await svc.attendance.GetActivity(
        att.GetActivityRequest(name=activity_name), metadata=person.metadata, timeout=svc.timeout
    )
    if kiosk_name not in reply.activity.kiosks:
        return None
    return Binding(activity=activity_name, kiosk=kiosk_name)


async def screen(svc: Services, person: Person, binding: Binding) -> Screen:
    """The bound activity as the kiosk shows it (the check-in code only staff are told)."""
    reply = await svc.attendance.GetActivity(
        att.GetActivityRequest(name=binding.activity), metadata=person.metadata, timeout=svc.timeout
    )
    activity = reply.activity
    return Screen(
        binding=binding,
        title=activity.title,
        place=activity.place,
        check_in_code=activity.check_in_code,
    )


async def _shown_name(svc: Services, person: Person, resident: str) -> str:
    """The resident's masked name, or "" when the operator may not read it."""
    try:
        reply = await svc.identity.GetResident(
            idn.GetResidentRequest(name=resident), metadata=person.metadata, timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND):
            return ""
        raise
    return masked(reply.resident.display_name)


async def face(
    svc: Services,
    person: Person,
    binding: Binding,
    direction: str,
    frames: list[bytes],
    challenge: str,
    request_id: str,
) -> Outcome:
    """FaceSignIn or FaceSignOut with the burst; a close call names nobody on the screen."""
    fields = {
        "activity": binding.activity,
        "kiosk": binding.kiosk,
        "frames": frames_checked(frames),
        "challenge": CHALLENGES[challenge],
        "request_id": request_id,
    }
    meta, timeout = person.metadata, svc.timeout
    if direction == "in":
        session = (
            await svc.attendance.FaceSignIn(
                att.FaceSignInRequest(**fields), metadata=meta, timeout=timeout
            )
        ).session
        record = session.sign_in
    else:
        session = (
            await svc.attendance.FaceSignOut(
                att.FaceSignOutRequest(**fields), metadata=meta, timeout=timeout
            )
        ).session
        record = session.sign_out
    confirm = record.face.needs_staff_confirmation
    name = "" if confirm else await _shown_name(svc, person, session.resident)
    return Outcome(
        direction=direction,
        name=name,
        confirm=confirm,
        duration_seconds=session.duration_seconds,
        session=session.name,
    )


@dataclass(frozen=True)
class CodeSignIn:
    """A resident signing themself in or out with the activity's QR code or PIN."""

    activity: str
    code: str
    scanned: bool  # from the QR code (else typed: the PIN)
    direction: str


async def activity_title(svc: Services, person: Person, activity: str) -> str:
    """An activity's title (any person of the community may read it)."""
    reply = await svc.attendance.GetActivity(
        att.GetActivityRequest(name=activity), metadata=person.metadata, timeout=svc.timeout
    )
    return reply.activity.title


async def code_sign(svc: Services, person: Person, command: CodeSignIn, request_id: str) -> Outcome:
    """SignIn or SignOut of the person themself with the code (QR_CODE or PIN)."""
    method = att.SIGN_IN_METHOD_QR_CODE if command.scanned else att.SIGN_IN_METHOD_PIN
    fields = {
        "activity": command.activity,
        "resident": person.resident,
        "method": method,
        "code": command.code,
        "request_id": request_id,
    }
    meta, timeout = person.metadata, svc.timeout
    if command.direction == "in":
        session = (
            await svc.attendance.SignIn(att.SignInRequest(**fields), metadata=meta, timeout=timeout)
        ).session
    else:
        session = (
            await svc.attendance.SignOut(
                att.SignOutRequest(**fields), metadata=meta, timeout=timeout
            )
        ).session
    return Outcome(
        direction=command.direction,
        name="",
        confirm=False,
        duration_seconds=session.duration_seconds,
        session=session.name,
    )


def new_request_id() -> str:
    """A request id for a form (a resubmitted form replays)."""
    return str(uuid.uuid4())
