"""Attendance domain events as protobuf payloads for attendance.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2

from linli_attendance.domain.activities import ServiceType, SessionCompleted
from linli_kit.domain import DomainEvent

SERVICE_TYPE_CODES = {
    ServiceType.REGULAR: service_type_pb2.SERVICE_TYPE_REGULAR,
    ServiceType.PROFESSIONAL: service_type_pb2.SERVICE_TYPE_PROFESSIONAL,
    ServiceType.HIGH_RISK: service_type_pb2.SERVICE_TYPE_HIGH_RISK,
}


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for an attendance event."""
    match event:
        case SessionCompleted():
            activity = f"communities/{event.community_id}/activities/{event.activity_id}"
            message = attendance_events_pb2.SessionCompleted(
                session=f"{activity}/sessions/{event.session_id}",
                resident=f"communities/{event.community_id}/residents/{event.resident_id}",
                activity=activity,
                service_type=SERVICE_TYPE_CODES[event.service_type],
                duration_seconds=event.duration_seconds,
            )
            message.signed_in_at.FromDatetime(event.signed_in_at)
            message.signed_out_at.FromDatetime(event.signed_out_at)
            return message
    raise TypeError(f"no payload for {type(event).__name__}")
