"""What the training use cases are asked to do: one command per mutating request or event.

Every command of a request carries its caller (`actor`): the access rules take it, and a
request id reused by another caller is refused rather than answered with the first result.
Commands of events carry the event id instead (applied once per consumer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from linli_kit.principals import Principal
from linli_training.domain.courses import DEFAULT_COMPLETION_PERCENT, Tier
from linli_training.domain.sessions import TeacherKind


@dataclass(frozen=True, kw_only=True)
class CreateCourse:
    """Add a course to the community's catalogue."""

    community_id: str
    course_id: str
    title: str
    tier: Tier
    minutes: int
    completion_percent: int = DEFAULT_COMPLETION_PERCENT
    description: str = ""
    credits: int = 0
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True)
class CreateDefaultCourses:
    """Add the policy's courses the community does not have yet."""

    community_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class CreateTeacher:
    """Add a teacher to the pool."""

    community_id: str
    display_name: str
    kind: TeacherKind
    organisation: str = ""
    qualified_courses: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class ScheduleCourseSession:
    """Schedule a session of a course, with its sign-in activity in attendance."""

    community_id: str
    course_id: str
    teacher_id: str
    place: str
    capacity: int
    starts_at: datetime
    ends_at: datetime
    kiosk_ids: tuple[str, ...] = ()
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class CancelCourseSession:
    """Cancel a scheduled session, closing its sign-in activity in attendance."""

    community_id: str
    session_id: str
    reason: str
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True, kw_only=True)
class RecordSessionTaught:
    """Record that a session was taught face to face."""

    community_id: str
    session_id: str
    minutes: int = 0
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True)
class Enrol:
    """Enrol a resident in a session."""

    community_id: str
    session_id: str
    resident_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class CancelEnrolment:
    """Give a seat or a place in line up."""

    community_id: str
    session_id: str
    resident_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class CreateLevel:
    """Add a level to the community's level table."""

    community_id: str
    level_id: str
    title: str
    credits_needed: int
    tiers: tuple[Tier, ...] = ()
    allowance_fen: int = 0
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True)
class CreateDefaultLevels:
    """Add the shipped level table the community does not have yet."""

    community_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class MarkAllowancePaid:
    """Record that an allowance was paid."""

    community_id: str
    allowance_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class SubmitAssessment:
    """A resident's answers to one instrument for the year."""

    community_id: str
    resident_id: str
    instrument_id: str
    answers: tuple[int, ...]
    request_id: str = ""
    actor: Principal


@dataclass(frozen=True)
class DeclineAssessment:
    """The resident declines the year's assessment."""

    community_id: str
    resident_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class CreditAttendance:
    """Attendance completed a session of an activity (from SessionCompleted)."""

    event_id: str
    community_id: str
    activity_id: str
    session: str
    resident_id: str
    training: bool
    duration_seconds: int
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class CorrectAttendance:
    """Attendance corrected a session's counted duration (from SessionCorrected)."""

    event_id: str
    community_id: str
    activity_id: str
    session: str
    resident_id: str
    training: bool
    duration_seconds: int
    corrected_at: datetime


@dataclass(frozen=True, kw_only=True)
class ChangeCoreVolunteer:
    """Identity granted or revoked a resident's core_volunteer role."""

    event_id: str
    community_id: str
    resident_id: str
    core: bool
