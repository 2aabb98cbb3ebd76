"""Training domain events as protobuf payloads for training.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.events.v1 import training_events_pb2 as pb

from linli_kit.domain import DomainEvent
from linli_kit.wire import timestamp
from linli_training.domain.names import (
    ACTIVITY,
    ALLOWANCE,
    COURSE,
    COURSE_SESSION,
    LEVEL,
    RESIDENT,
)
from linli_training.domain.progress import (
    CourseCompleted,
    CourseCompletionWithdrawn,
    LevelPromoted,
    TrainingAttendanceCorrected,
    TrainingAttended,
)
from linli_training.domain.sessions import CourseSessionCancelled


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for a training event."""
    community = event.community_id
    match event:
        case TrainingAttended():
            return pb.TrainingAttended(
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                course=COURSE.format(community=community, course=event.course_id),
                course_session=COURSE_SESSION.format(
                    community=community, session=event.course_session_id
                ),
                session=event.attendance_session,
                duration_seconds=event.duration_seconds,
            )
        case CourseCompleted():
            return pb.CourseCompleted(
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                course=COURSE.format(community=community, course=event.course_id),
                tier=event.tier.value,
                credits=event.credits,
                total_credits=event.total_credits,
            )
        case LevelPromoted():
            allowance = (
                ALLOWANCE.format(community=community, allowance=event.allowance_id)
                if event.allowance_id
                else ""
            )
            return pb.LevelPromoted(
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                level=LEVEL.format(community=community, level=event.level_id),
                level_title=event.level_title,
                credits=event.credits,
                allowance_fen=event.allowance_fen,
                allowance=allowance,
            )
        case TrainingAttendanceCorrected():
            return pb.TrainingAttendanceCorrected(
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                course=COURSE.format(community=community, course=event.course_id),
                course_session=COURSE_SESSION.format(
                    community=community, session=event.course_session_id
                ),
                session=event.attendance_session,
                previous_duration_seconds=event.previous_seconds,
                duration_seconds=event.duration_seconds,
            )
        case CourseCompletionWithdrawn():
            return pb.CourseCompletionWithdrawn(
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                course=COURSE.format(community=community, course=event.course_id),
                credits=event.credits,
                total_credits=event.total_credits,
            )
        case CourseSessionCancelled():
            return pb.CourseSessionCancelled(
                course_session=COURSE_SESSION.format(
                    community=community, session=event.course_session_id
                ),
                course=COURSE.format(community=community, course=event.course_id),
                activity=ACTIVITY.format(community=community, activity=event.activity_id),
                reason=event.reason,
                start_time=timestamp(event.starts_at),
                released_enrolled=[
                    RESIDENT.format(community=community, resident=r)
                    for r in event.released_enrolled
                ],
                released_waiting=[
                    RESIDENT.format(community=community, resident=r) for r in event.released_waiting
                ],
            )
    raise TypeError(f"no payload for {type(event).__name__}")
