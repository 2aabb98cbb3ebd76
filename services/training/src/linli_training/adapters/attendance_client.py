"""The attendance service over gRPC: each course session's activity and its roster.

Attendance sees this service as `spiffe://linli/<community>/training` and lets it (and only
it) plan activities of service type TRAINING; training puts the residents holding a seat on
the roster of the session's activity (the people its kiosks identify among). Closing an
activity is for staff: training asks it with the credentials of the staff member cancelling
the session (their own access token), so attendance checks and records them. Attendance's
refusals keep their meaning; anything else, or no answer in time, is Unavailable: nothing is
stored and the caller retries.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc
from linli.common.v1 import service_type_pb2

from linli_kit.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from linli_training.domain.names import ACTIVITY, COMMUNITY, KIOSK, RESIDENT
from linli_training.domain.sessions import CourseSession

REFUSALS: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
}


class GrpcAttendance:
    """Attendance backed by AttendanceService (blocking; used from worker threads)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0) -> None:
        self.stub, self.timeout = pb_grpc.AttendanceServiceStub(channel), timeout

    def plan(self, session: CourseSession, title: str, request_id: str) -> str:
        """Plan the session's training activity (idempotent by request id); its activity id."""
        community = session.community_id
        activity = pb.Activity(
            title=title[:100],
            service_type=service_type_pb2.SERVICE_TYPE_TRAINING,
            kind=pb.ACTIVITY_KIND_ROUTINE,
            place=session.place,
            capacity=session.capacity,
            kiosks=[KIOSK.format(community=community, kiosk=k) for k in session.kiosk_ids],
        )
        activity.start_time.FromDatetime(session.starts_at)
        activity.end_time.FromDatetime(session.ends_at)
        request = pb.CreateActivityRequest(
            parent=COMMUNITY.format(community=community), activity=activity, request_id=request_id
        )
        try:
            created = self.stub.CreateActivity(request, timeout=self.timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            raise _refusal(exc) from exc
        return ACTIVITY.parse(created.activity.name)["activity"]

    def close(
        self, session: CourseSession, request_id: str, caller: Sequence[tuple[str, str]]
    ) -> None:
        """Close the session's activity to sign-ins, asked as the caller (their credentials)."""
        name = ACTIVITY.format(community=session.community_id, activity=session.activity_id)
        request = pb.CloseActivityRequest(name=name, request_id=request_id)
        try:
            self.stub.CloseActivity(request, timeout=self.timeout, metadata=tuple(caller))
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.FAILED_PRECONDITION or not self._closed(
                name, caller
            ):
                raise _refusal(exc) from exc

    def put_on_roster(self, session: CourseSession, resident_id: str, request_id: str) -> None:
        """Put a resident holding a seat on the roster of the session's activity."""
        request = pb.AddRosterEntryRequest(
            activity=ACTIVITY.format(community=session.community_id, activity=session.activity_id),
            resident=RESIDENT.format(community=session.community_id, resident=resident_id),
            role=pb.ROSTER_ROLE_VOLUNTEER,
            request_id=request_id,
        )
        try:
            self.stub.AddRosterEntry(request, timeout=self.timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            raise _refusal(exc) from exc

    def take_off_roster(self, session: CourseSession, resident_id: str, request_id: str) -> None:
        """Take a resident off the roster of the session's activity (done if not on it)."""
        request = pb.RemoveRosterEntryRequest(
            activity=ACTIVITY.format(community=session.community_id, activity=session.activity_id),
            resident=RESIDENT.format(community=session.community_id, resident=resident_id),
            request_id=request_id,
        )
        try:
            self.stub.RemoveRosterEntry(request, timeout=self.timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                raise _refusal(exc) from exc

    def _closed(self, name: str, caller: Sequence[tuple[str, str]]) -> bool:
        """Whether the activity is closed already (a retry after a crash, or staff did it)."""
        try:
            found = self.stub.GetActivity(
                pb.GetActivityRequest(name=name), timeout=self.timeout, metadata=tuple(caller)
            )
        except grpc.RpcError as exc:
            raise _refusal(exc) from exc
        return found.activity.HasField("close_time")


def _refusal(exc: grpc.RpcError) -> DomainError:
    """Attendance's refusal as the same error, or Unavailable for anything else."""
    refusal = REFUSALS.get(exc.code())
    if refusal is None:
        return Unavailable(f"attendance service did not answer: {exc.code().name}")
    return refusal(f"attendance: {exc.details()}")
