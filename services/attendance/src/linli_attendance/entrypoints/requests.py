"""Commands from the attendance API's requests: names parsed, enums mapped, fields checked."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from linli.attendance.v1 import attendance_service_pb2 as pb

from linli_attendance.domain.activities import ScheduleKind
from linli_attendance.domain.names import ACTIVITY, COMMUNITY, KIOSK, RESIDENT
from linli_attendance.entrypoints.messages import (
    CHALLENGES,
    KINDS,
    METHODS,
    ROSTER_ROLES,
    SERVICE_TYPES,
    enum,
    time,
)
from linli_attendance.service_layer import commands
from linli_kit.errors import InvalidArgument
from linli_kit.names import same_community
from linli_kit.principals import Principal


def create_activity(request: pb.CreateActivityRequest, actor: Principal) -> commands.CreateActivity:
    """The command planning the requested activity."""
    community = COMMUNITY.parse(request.parent, "parent")["community"]
    given = request.activity
    kind = enum(KINDS, given.kind, "activity.kind")
    if not given.HasField("end_time") or (
        kind is not ScheduleKind.EMERGENCY and not given.HasField("start_time")
    ):
        raise InvalidArgument("activity.start_time and activity.end_time are required")
    kiosks = [KIOSK.parse(name, "activity.kiosks") for name in given.kiosks]
    same_community(community, *(k["community"] for k in kiosks))
    return commands.CreateActivity(
        community_id=community,
        title=given.title,
        service_type=enum(SERVICE_TYPES, given.service_type, "activity.service_type"),
        kind=kind,
        starts_at=time(given.start_time, given.HasField("start_time")),
        ends_at=given.end_time.ToDatetime(tzinfo=UTC),
        request_id=request.request_id,
        place=given.place,
        capacity=given.capacity,
        occurrence_count=given.occurrence_count or 1,
        kiosk_ids=tuple(k["kiosk"] for k in kiosks),
        checklist=tuple(given.checklist),
        checklist_template=request.checklist_template,
        org_units=tuple(given.org_units),
        actor=actor,
    )


def presence(request: pb.SignInRequest | pb.SignOutRequest, actor: Principal) -> dict[str, Any]:
    """The fields of a sign-in or sign-out command."""
    activity = ACTIVITY.parse(request.activity, "activity")
    resident = RESIDENT.parse(request.resident, "resident")
    return {
        "community_id": same_community(activity["community"], resident["community"]),
        "activity_id": activity["activity"],
        "resident_id": resident["resident"],
        "method": enum(METHODS, request.method, "method"),
        "at": time(request.time, request.HasField("time")),
        "request_id": request.request_id,
        "code": request.code,
        "actor": actor,
    }


def face_presence(
    request: pb.FaceSignInRequest | pb.FaceSignOutRequest, actor: Principal
) -> commands.FacePresence:
    """The command of a kiosk's burst of frames."""
    activity = ACTIVITY.parse(request.activity, "activity")
    kiosk = KIOSK.parse(request.kiosk, "kiosk")
    return commands.FacePresence(
        community_id=same_community(activity["community"], kiosk["community"]),
        activity_id=activity["activity"],
        kiosk_id=kiosk["kiosk"],
        frames=tuple(request.frames),
        challenge=enum(CHALLENGES, request.challenge, "challenge"),
        request_id=request.request_id,
        actor=actor,
    )


def enter_paper_session(
    request: pb.EnterPaperSessionRequest, actor: Principal
) -> commands.EnterPaperSession:
    """The command entering a paper sign-in sheet's session."""
    activity = ACTIVITY.parse(request.activity, "activity")
    resident = RESIDENT.parse(request.resident, "resident")
    if not (request.HasField("sign_in_time") and request.HasField("sign_out_time")):
        raise InvalidArgument("sign_in_time and sign_out_time are required")
    return commands.EnterPaperSession(
        community_id=same_community(activity["community"], resident["community"]),
        activity_id=activity["activity"],
        resident_id=resident["resident"],
        signed_in_at=request.sign_in_time.ToDatetime(tzinfo=UTC),
        signed_out_at=request.sign_out_time.ToDatetime(tzinfo=UTC),
        reason=request.reason,
        request_id=request.request_id,
        actor=actor,
    )


def _roster_fields(
    request: pb.AddRosterEntryRequest | pb.RemoveRosterEntryRequest,
) -> dict[str, Any]:
    activity = ACTIVITY.parse(request.activity, "activity")
    resident = RESIDENT.parse(request.resident, "resident")
    return {
        "community_id": same_community(activity["community"], resident["community"]),
        "activity_id": activity["activity"],
        "occurrence_starts_at": time(
            request.occurrence_start_time, request.HasField("occurrence_start_time")
        ),
        "resident_id": resident["resident"],
        "request_id": request.request_id,
    }


def add_roster_entry(
    request: pb.AddRosterEntryRequest, actor: Principal
) -> commands.AddRosterEntry:
    """The command putting a resident on an occurrence's roster."""
    return commands.AddRosterEntry(
        **_roster_fields(request), role=enum(ROSTER_ROLES, request.role, "role"), actor=actor
    )


def remove_roster_entry(
    request: pb.RemoveRosterEntryRequest, actor: Principal
) -> commands.RemoveRosterEntry:
    """The command taking a resident off an occurrence's roster."""
    return commands.RemoveRosterEntry(**_roster_fields(request), actor=actor)
