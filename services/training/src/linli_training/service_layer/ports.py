"""What the training use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from linli_kit.domain import AbstractUnitOfWork, Repository
from linli_training.domain.assessments import Assessment
from linli_training.domain.courses import Course
from linli_training.domain.progress import Allowance, Level, Trainee
from linli_training.domain.sessions import CourseSession, Teacher

# A community's catalogue and level table are read whole (tier rules, promotions): bounded.
MAX_COURSES = 200
MAX_LEVELS = 50
# A stack serves one community, or a district's few: the gauges cover this many at most.
MAX_COMMUNITIES = 1000


class Attendance(Protocol):
    """The attendance service, which holds the sign-in activity of each course session."""

    def plan(self, session: CourseSession, title: str, request_id: str) -> str:
        """Plan the session's training activity (idempotent by request id); its activity id."""
        ...

    def close(
        self, session: CourseSession, request_id: str, caller: Sequence[tuple[str, str]]
    ) -> None:
        """Close the session's activity to sign-ins, asked as the caller (their credentials)."""
        ...

    def put_on_roster(self, session: CourseSession, resident_id: str, request_id: str) -> None:
        """Put a resident holding a seat on the roster of the session's activity."""
        ...

    def take_off_roster(self, session: CourseSession, resident_id: str, request_id: str) -> None:
        """Take a resident off the roster of the session's activity (done if not on it)."""
        ...


class Courses(abc.ABC):
    """Stored courses."""

    @abc.abstractmethod
    def add(self, course: Course) -> None:
        """Store a new course; AlreadyExists if its id is taken."""

    @abc.abstractmethod
    def get(self, community_id: str, course_id: str) -> Course | None:
        """A course by id, or None."""

    @abc.abstractmethod
    def all(self, community_id: str) -> list[Course]:
        """A community's courses by tier, then id (at most MAX_COURSES)."""


class Teachers(abc.ABC):
    """Stored teachers of the pool."""

    @abc.abstractmethod
    def add(self, teacher: Teacher) -> None:
        """Store a new teacher."""

    @abc.abstractmethod
    def get(self, community_id: str, teacher_id: str) -> Teacher | None:
        """A teacher by id, or None."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[Teacher]:
        """A community's teachers by name."""


class CourseSessions(Repository, abc.ABC):
    """Stored course sessions with their enrolments."""

    @abc.abstractmethod
    def add(self, session: CourseSession) -> None:
        """Store a new session."""

    @abc.abstractmethod
    def get(self, community_id: str, session_id: str) -> CourseSession | None:
        """A session by id, locked for update until the unit of work ends, or None."""

    @abc.abstractmethod
    def by_activity(self, community_id: str, activity_id: str) -> CourseSession | None:
        """The session whose sign-in activity this is, or None."""

    @abc.abstractmethod
    def save(self, session: CourseSession) -> None:
        """Store a session's enrolments, taught minutes and cancellation."""

    @abc.abstractmethod
    def page(self, community_id: str, offset: int, limit: int) -> list[CourseSession]:
        """A community's sessions by start time."""

    @abc.abstractmethod
    def taught(self, community_id: str, since: datetime, until: datetime) -> list[CourseSession]:
        """Sessions recorded as taught that started in [since, until)."""

    @abc.abstractmethod
    def communities(self) -> list[str]:
        """The communities with course sessions (at most MAX_COMMUNITIES)."""


class Trainees(Repository, abc.ABC):
    """Residents' training records; one row per resident is locked while one is changed."""

    @abc.abstractmethod
    def get(self, community_id: str, resident_id: str) -> Trainee:
        """A resident's record (empty if new), locked for update until the unit of work ends."""

    @abc.abstractmethod
    def first_attendance(
        self,
        trainee: Trainee,
        attendance_session: str,
        course_session_id: str,
        course_id: str,
        seconds: int,
        at: datetime,
    ) -> bool:
        """Record an attendance session's credit; False if it was credited before."""

    @abc.abstractmethod
    def credited(self, community_id: str, attendance_session: str) -> int | None:
        """The seconds credited for an attendance session, or None if it never was."""

    @abc.abstractmethod
    def correct_attendance(
        self,
        trainee: Trainee,
        attendance_session: str,
        course_session_id: str,
        course_id: str,
        seconds: int,
        corrected_at: datetime,
    ) -> int | None:
        """Store corrected seconds; those credited before (0: none), None if out of date."""

    @abc.abstractmethod
    def save(self, trainee: Trainee) -> None:
        """Store a record's completions (withdrawn ones go), levels, allowances and role."""


class Levels(abc.ABC):
    """Stored level tables."""

    @abc.abstractmethod
    def add(self, level: Level) -> None:
        """Store a new level; AlreadyExists if its id is taken."""

    @abc.abstractmethod
    def get(self, community_id: str, level_id: str) -> Level | None:
        """A level by id, or None."""

    @abc.abstractmethod
    def all(self, community_id: str) -> list[Level]:
        """A community's levels by credits needed (at most MAX_LEVELS)."""


class Allowances(abc.ABC):
    """Stored allowance entitlements."""

    @abc.abstractmethod
    def get(self, community_id: str, allowance_id: str) -> Allowance | None:
        """An allowance by id, locked for update until the unit of work ends, or None."""

    @abc.abstractmethod
    def page(
        self,
        community_id: str,
        resident_id: str | None,
        unpaid_only: bool,
        offset: int,
        limit: int,
    ) -> list[Allowance]:
        """A community's (or one resident's) allowances, newest first."""

    @abc.abstractmethod
    def save(self, allowance: Allowance) -> None:
        """Store an allowance's payment."""

    @abc.abstractmethod
    def unpaid_before(self, before: datetime) -> dict[str, int]:
        """Per community, allowances entitled before the time and not yet paid."""


class Assessments(abc.ABC):
    """Stored assessment results and declines."""

    @abc.abstractmethod
    def of_year(self, community_id: str, resident_id: str, year: int) -> list[Assessment]:
        """A resident's results and decline of one year."""

    @abc.abstractmethod
    def add(self, assessment: Assessment) -> None:
        """Store a result or a decline; FailedPrecondition if the year already has it."""

    @abc.abstractmethod
    def delete_year(self, community_id: str, resident_id: str, year: int) -> int:
        """Delete a resident's results of a year; how many there were."""

    @abc.abstractmethod
    def page(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[Assessment]:
        """A resident's results and declines, newest first."""


class TrainingUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over every training record."""

    courses: Courses
    teachers: Teachers
    sessions: CourseSessions
    trainees: Trainees
    levels: Levels
    allowances: Allowances
    assessments: Assessments
