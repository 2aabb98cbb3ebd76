"""The AttendanceService servicer: map the request, call the use case, map the result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc
from linli.common.v1 import service_type_pb2

from linli_attendance.domain.activities import (
    Activity,
    ActivityKind,
    ServiceType,
    Session,
    SignInMethod,
)
from linli_attendance.service_layer import handlers
from linli_attendance.service_layer.ports import AttendanceUnitOfWork, ResidentDirectory
from linli_kit import metrics
from linli_kit.errors import InvalidArgument
from linli_kit.names import decode_page_token, encode_page_token, page_size, parse_name

E = TypeVar("E")
COMMUNITY = "communities/{community}"
ACTIVITY = "communities/{community}/activities/{activity}"
RESIDENT = "communities/{community}/residents/{resident}"

SERVICE_TYPES = {
    service_type_pb2.SERVICE_TYPE_REGULAR: ServiceType.REGULAR,
    service_type_pb2.SERVICE_TYPE_PROFESSIONAL: ServiceType.PROFESSIONAL,
    service_type_pb2.SERVICE_TYPE_HIGH_RISK: ServiceType.HIGH_RISK,
}
KINDS = {
    pb.ACTIVITY_KIND_ROUTINE: ActivityKind.ROUTINE,
    pb.ACTIVITY_KIND_PERIODIC: ActivityKind.PERIODIC,
    pb.ACTIVITY_KIND_EMERGENCY: ActivityKind.EMERGENCY,
}
METHODS = {pb.SIGN_IN_METHOD_STAFF_CONFIRMED: SignInMethod.STAFF_CONFIRMED}


def _enum(table: Mapping[int, E], value: int, field: str) -> E:
    if value not in table:
        raise InvalidArgument(f"{field} must be set to one of the defined values")
    return table[value]


def _time(message: Timestamp, present: bool) -> datetime | None:
    return message.ToDatetime(tzinfo=UTC) if present else None


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def activity_message(activity: Activity) -> pb.Activity:
    """An activity as its protobuf message."""
    codes = {v: k for k, v in SERVICE_TYPES.items()}
    kinds = {v: k for k, v in KINDS.items()}
    return pb.Activity(
        name=f"communities/{activity.community_id}/activities/{activity.id}",
        title=activity.title,
        service_type=codes[activity.service_type],
        kind=kinds[activity.kind],
        start_time=_timestamp(activity.starts_at),
        end_time=_timestamp(activity.ends_at),
        create_time=_timestamp(activity.created_at),
    )


def session_message(session: Session) -> pb.Session:
    """A session as its protobuf message."""
    prefix = f"communities/{session.community_id}"
    return pb.Session(
        name=f"{prefix}/activities/{session.activity_id}/sessions/{session.id}",
        resident=f"{prefix}/residents/{session.resident_id}",
        method=pb.SIGN_IN_METHOD_STAFF_CONFIRMED,
        confirmed_by=f"{prefix}/residents/{session.confirmed_by}",
        sign_in_time=_timestamp(session.signed_in_at),
        sign_out_time=_timestamp(session.signed_out_at),
        duration_seconds=session.duration_seconds,
    )


class AttendanceServicer(pb_grpc.AttendanceServiceServicer):
    """Activities and sign-in/sign-out over gRPC."""

    def __init__(
        self, uow_factory: Callable[[], AttendanceUnitOfWork], residents: ResidentDirectory
    ) -> None:
        self.uow_factory, self.residents = uow_factory, residents

    async def CreateActivity(
        self, request: pb.CreateActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateActivityResponse:
        """Plan an activity."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        given = request.activity
        if not (given.HasField("start_time") and given.HasField("end_time")):
            raise InvalidArgument("activity.start_time and activity.end_time are required")
        command = handlers.CreateActivity(
            community_id=ids["community"],
            title=given.title,
            service_type=_enum(SERVICE_TYPES, given.service_type, "activity.service_type"),
            kind=_enum(KINDS, given.kind, "activity.kind"),
            starts_at=given.start_time.ToDatetime(tzinfo=UTC),
            ends_at=given.end_time.ToDatetime(tzinfo=UTC),
            request_id=request.request_id,
        )
        activity = await asyncio.to_thread(handlers.create_activity, command, self.uow_factory())
        return pb.CreateActivityResponse(activity=activity_message(activity))

    async def GetActivity(
        self, request: pb.GetActivityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetActivityResponse:
        """An activity by name."""
        ids = parse_name(ACTIVITY, request.name)
        activity = await asyncio.to_thread(
            handlers.get_activity, ids["community"], ids["activity"], self.uow_factory()
        )
        return pb.GetActivityResponse(activity=activity_message(activity))

    async def ListActivities(
        self, request: pb.ListActivitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListActivitiesResponse:
        """A page of a community's activities."""
        ids = parse_name(COMMUNITY, request.parent, "parent")
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        activities, more = await asyncio.to_thread(
            handlers.list_activities, ids["community"], offset, limit, self.uow_factory()
        )
        return pb.ListActivitiesResponse(
            activities=[activity_message(a) for a in activities],
            next_page_token=encode_page_token(offset + limit) if more else "",
        )

    def _presence(self, request: pb.SignInRequest | pb.SignOutRequest) -> dict[str, Any]:
        activity = parse_name(ACTIVITY, request.activity, "activity")
        resident = parse_name(RESIDENT, request.resident, "resident")
        staff = parse_name(RESIDENT, request.confirmed_by, "confirmed_by")
        if not activity["community"] == resident["community"] == staff["community"]:
            raise InvalidArgument("activity, resident and confirmed_by must be in one community")
        return {
            "community_id": activity["community"],
            "activity_id": activity["activity"],
            "resident_id": resident["resident"],
            "confirmed_by": staff["resident"],
            "method": _enum(METHODS, request.method, "method"),
            "at": _time(request.time, request.HasField("time")),
            "request_id": request.request_id,
        }

    async def SignIn(
        self, request: pb.SignInRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignInResponse:
        """Open a session."""
        command = handlers.SignIn(**self._presence(request))
        session = await asyncio.to_thread(
            handlers.sign_in, command, self.uow_factory(), self.residents
        )
        metrics.ATTENDANCE_SIGN_INS.labels(command.community_id, command.method.value).inc()
        return pb.SignInResponse(session=session_message(session))

    async def SignOut(
        self, request: pb.SignOutRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignOutResponse:
        """Close a session."""
        command = handlers.SignOut(**self._presence(request))
        session = await asyncio.to_thread(handlers.sign_out, command, self.uow_factory())
        return pb.SignOutResponse(session=session_message(session))
