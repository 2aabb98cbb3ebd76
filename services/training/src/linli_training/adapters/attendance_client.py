"""The attendance service, asked over gRPC to plan each course session's sign-in activity.

Attendance sees this service as `spiffe://linli/<community>/training` and lets it (and only
it) plan activities of service type TRAINING. Its refusals keep their meaning; anything else,
or no answer in time, is Unavailable: nothing is stored and the caller retries.
"""

from __future__ import annotations

import grpc
from linli.attendance.v1 import attendance_service_pb2 as pb
from linli.attendance.v1 import attendance_service_pb2_grpc as pb_grpc
from linli.common.v1 import service_type_pb2

from linli_kit.errors import DomainError, FailedPrecondition, InvalidArgument, Unavailable
from linli_training.domain.names import ACTIVITY, COMMUNITY, KIOSK
from linli_training.domain.sessions import CourseSession

REFUSALS: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
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
            refusal = REFUSALS.get(exc.code())
            if refusal is None:
                raise Unavailable(f"attendance service did not answer: {exc.code().name}") from exc
            raise refusal(f"attendance: {exc.details()}") from exc
        return ACTIVITY.parse(created.activity.name)["activity"]
