"""Attendance domain events as protobuf payloads for attendance.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2 as pb

from linli_attendance.domain.activities import (
    EmergencyCalled,
    FaceReenrolmentSuggested,
    ServiceType,
    SessionCompleted,
    SessionCorrected,
)
from linli_attendance.domain.leads import ProjectLeadPromoted
from linli_attendance.domain.names import ACTIVITY, RESIDENT, SESSION
from linli_attendance.domain.ratings import SessionRated
from linli_kit.domain import DomainEvent

# Each service type's code is the shared enum's value of the same name.
SERVICE_TYPE_CODES = {
    service_type: service_type_pb2.ServiceType.Value(f"SERVICE_TYPE_{service_type.name}")
    for service_type in ServiceType
}


def _activity(community_id: str, activity_id: str) -> str:
    return ACTIVITY.format(community=community_id, activity=activity_id)


def _session(community_id: str, activity_id: str, session_id: str) -> str:
    return SESSION.format(community=community_id, activity=activity_id, session=session_id)


def _resident(community_id: str, resident_id: str) -> str:
    return RESIDENT.format(community=community_id, resident=resident_id)


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for an attendance event."""
    match event:
        case SessionCompleted():
            completed = pb.SessionCompleted(
                session=_session(event.community_id, event.activity_id, event.session_id),
                resident=_resident(event.community_id, event.resident_id),
                activity=_activity(event.community_id, event.activity_id),
                service_type=SERVICE_TYPE_CODES[event.service_type],
                duration_seconds=event.duration_seconds,
            )
            completed.signed_in_at.FromDatetime(event.signed_in_at)
            completed.signed_out_at.FromDatetime(event.signed_out_at)
            return completed
        case SessionCorrected():
            corrected = pb.SessionCorrected(
                session=_session(event.community_id, event.activity_id, event.session_id),
                resident=_resident(event.community_id, event.resident_id),
                activity=_activity(event.community_id, event.activity_id),
                service_type=SERVICE_TYPE_CODES[event.service_type],
                previous_duration_seconds=event.previous_duration_seconds,
                duration_seconds=event.duration_seconds,
                corrected_by=_resident(event.community_id, event.corrected_by),
                reason=event.reason,
            )
            corrected.corrected_at.FromDatetime(event.occurred_at)
            return corrected
        case SessionRated():
            rated = pb.SessionRated(
                session=_session(event.community_id, event.activity_id, event.session_id),
                resident=_resident(event.community_id, event.resident_id),
                rated_by=_resident(event.community_id, event.rated_by),
                stars=event.stars,
            )
            rated.rated_at.FromDatetime(event.occurred_at)
            return rated
        case EmergencyCalled():
            called = pb.EmergencyCalled(
                activity=_activity(event.community_id, event.activity_id),
                title=event.title,
                org_units=list(event.org_units),
            )
            called.start_time.FromDatetime(event.starts_at)
            return called
        case ProjectLeadPromoted():
            return pb.ProjectLeadPromoted(
                resident=_resident(event.community_id, event.resident_id),
                activity=_activity(event.community_id, event.activity_id),
                successful_runs=event.successful_runs,
            )
        case FaceReenrolmentSuggested():
            return pb.FaceReenrolmentSuggested(
                resident=_resident(event.community_id, event.resident_id),
                needing_confirmation=event.needing_confirmation,
                considered=event.considered,
            )
    raise TypeError(f"no payload for {type(event).__name__}")
