"""Teachers, course sessions and enrolment (T2).

- **Teachers** come from a pool (university social-work teachers, Red Cross trainers,
  counsellors) and teach only the courses they are qualified for.
- **A course session** is one meeting of a course: a teacher, a place, a capacity and a time.
  Its sign-in activity lives in attendance, so volunteers sign in to a course as to anything
  else (kiosk face, QR/PIN, staff); training credits the sessions attendance completes.
- **Enrolment.** A resident takes a seat while one is free, else waits in line in the order
  they enrolled; a seat given up goes to the first one waiting. A resident enrols until the
  session starts; staff enrol anyone at any time (at the door, or a session already held on a
  paper sheet, before its sheet is entered). Only the attendance of residents holding a seat
  when attendance completes their session is credited.
- **Face-to-face hours** (T2): staff record a session as taught once it has started; its
  minutes (the scheduled length unless told otherwise) count toward the community's yearly
  target (40 h by default), in the local year (Asia/Shanghai) the session started.
- **Cancellation.** Staff cancel a session, with a reason, until it ends and unless it is
  already recorded as taught (its hours are counted: record fewer minutes instead). Its
  sign-in activity is closed in attendance, everyone holding a seat or waiting is released
  and told (CourseSessionCancelled), and nobody enrols or gives a seat up any more; the
  enrolments stay as they stood, so time attended before the cancellation is still credited
  to the seats. A session cancelled after it started may still be recorded as taught, for
  at most the minutes it ran (its start to the cancellation, by default); one cancelled
  before it started teaches nothing and never counts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from linli_kit.domain import Aggregate, DomainEvent, new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_training.domain.courses import Course

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_CAPACITY = 500
MAX_KIOSKS = 20
LONGEST_SESSION = timedelta(hours=12)
CALENDAR_START, CALENDAR_END = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
DEFAULT_TARGET_HOURS = 40
KIOSK_ID = re.compile(r"[a-z][a-z0-9-]{1,62}")
MAX_REASON = 500


def id_for_request(prefix: str, community_id: str, request_id: str) -> str:
    """An id derived from a request id, so a retry after a crash names the same thing."""
    if not request_id:
        return new_id(prefix)
    digest = hashlib.sha256(f"{community_id}\n{request_id}".encode()).hexdigest()
    return f"{prefix}{digest}"[:32]


def local_year(at: datetime) -> int:
    """The calendar year in Asia/Shanghai of an instant."""
    return at.astimezone(LOCAL_TZ).year


def report_year(year: int, now: datetime) -> int:
    """The year a report asks for (0: this year), or InvalidArgument outside the calendar."""
    year = year or local_year(now)
    if not CALENDAR_START.year <= year < CALENDAR_END.year:
        raise InvalidArgument("year must be 2000 to 2199 (0: this year)")
    return year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The instants a local year (Asia/Shanghai) starts and ends."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)


class TeacherKind(StrEnum):
    """Where a teacher comes from (T2)."""

    UNIVERSITY_SOCIAL_WORK = "university_social_work"
    RED_CROSS_TRAINER = "red_cross_trainer"
    COUNSELLOR = "counsellor"
    OTHER = "other"


def _text(value: str, what: str, longest: int, required: bool = True) -> str:
    value = value.strip()
    if (required and not value) or len(value) > longest:
        raise InvalidArgument(f"{what} must be {int(required)} to {longest} characters")
    return value


@dataclass(frozen=True, kw_only=True)
class Teacher:
    """A teacher of the pool and the courses they may teach."""

    community_id: str
    id: str
    display_name: str
    kind: TeacherKind
    created_at: datetime
    organisation: str = ""
    qualified_courses: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()

    @classmethod
    def add(
        cls,
        community_id: str,
        display_name: str,
        kind: TeacherKind,
        at: datetime,
        *,
        organisation: str = "",
        qualified_courses: Iterable[str] = (),
        certificates: Iterable[str] = (),
    ) -> Teacher:
        """A new teacher of the pool."""
        courses = tuple(dict.fromkeys(qualified_courses))
        if not courses:
            raise InvalidArgument("a teacher needs at least one course they are qualified for")
        return cls(
            community_id=community_id,
            id=new_id("t"),
            display_name=_text(display_name, "teacher.display_name", 100),
            kind=kind,
            created_at=at,
            organisation=_text(organisation, "teacher.organisation", 200, required=False),
            qualified_courses=courses,
            certificates=tuple(_text(c, "a certificate", 200) for c in certificates),
        )

    def require_qualified(self, course: Course) -> None:
        """FailedPrecondition unless the teacher may teach the course."""
        if course.id not in self.qualified_courses:
            raise FailedPrecondition(
                f"{self.display_name} is not qualified to teach {course.title}"
            )


class EnrolmentState(StrEnum):
    """Where a resident stands in a session."""

    ENROLLED = "enrolled"
    WAITING = "waiting"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class CourseSessionCancelled(DomainEvent):
    """Staff cancelled a session: its seats and waiting list are released."""

    course_session_id: str
    course_id: str
    activity_id: str
    reason: str
    starts_at: datetime
    released_enrolled: tuple[str, ...]
    released_waiting: tuple[str, ...]


@dataclass(kw_only=True)
class Enrolment:
    """One resident's place in a session."""

    resident_id: str
    state: EnrolmentState
    enrolled_at: datetime


@dataclass(kw_only=True, eq=False)
class CourseSession(Aggregate):
    """One scheduled meeting of a course, its sign-in activity and who enrolled."""

    community_id: str
    id: str
    course_id: str
    teacher_id: str
    place: str
    capacity: int
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    activity_id: str = ""
    kiosk_ids: tuple[str, ...] = ()
    taught_minutes: int | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    enrolments: list[Enrolment] = field(default_factory=list)

    @classmethod
    def schedule(
        cls,
        session_id: str,
        course: Course,
        teacher: Teacher,
        place: str,
        capacity: int,
        starts_at: datetime,
        ends_at: datetime,
        at: datetime,
        kiosk_ids: Iterable[str] = (),
    ) -> CourseSession:
        """A new session of a course with a qualified teacher."""
        teacher.require_qualified(course)
        if not 1 <= capacity <= MAX_CAPACITY:
            raise InvalidArgument(f"session.capacity must be 1 to {MAX_CAPACITY}")
        if not ends_at > starts_at:
            raise InvalidArgument("session.end_time must be after session.start_time")
        if ends_at - starts_at > LONGEST_SESSION:
            raise InvalidArgument("a course session lasts at most 12 hours")
        if starts_at < CALENDAR_START or ends_at >= CALENDAR_END:
            raise InvalidArgument("a course session falls in the years 2000 to 2199")
        kiosks = tuple(dict.fromkeys(kiosk_ids))
        if len(kiosks) > MAX_KIOSKS or not all(KIOSK_ID.fullmatch(k) for k in kiosks):
            raise InvalidArgument(f"session.kiosks: at most {MAX_KIOSKS} kiosk names")
        return cls(
            community_id=course.community_id,
            id=session_id,
            course_id=course.id,
            teacher_id=teacher.id,
            place=_text(place, "session.place", 200),
            capacity=capacity,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=at,
            kiosk_ids=kiosks,
        )

    @property
    def scheduled_minutes(self) -> int:
        """The session's length in whole minutes."""
        return int((self.ends_at - self.starts_at).total_seconds()) // 60

    def _of(self, resident_id: str) -> Enrolment | None:
        return next((e for e in self.enrolments if e.resident_id == resident_id), None)

    def _count(self, state: EnrolmentState) -> int:
        return sum(1 for e in self.enrolments if e.state is state)

    @property
    def enrolled(self) -> int:
        """Seats taken."""
        return self._count(EnrolmentState.ENROLLED)

    @property
    def waiting(self) -> int:
        """Residents waiting for a seat."""
        return self._count(EnrolmentState.WAITING)

    def is_enrolled(self, resident_id: str) -> bool:
        """Whether the resident holds a seat."""
        found = self._of(resident_id)
        return found is not None and found.state is EnrolmentState.ENROLLED

    def _require_not_cancelled(self) -> None:
        if self.cancelled_at is not None:
            raise FailedPrecondition(
                f"the session was cancelled on {self.cancelled_at:%Y-%m-%d}: {self.cancel_reason}"
            )

    def enrol(self, resident_id: str, at: datetime, by_staff: bool = False) -> Enrolment:
        """A seat if one is free, else a place in line; residents only before the start."""
        self._require_not_cancelled()
        if at >= self.starts_at and not by_staff:
            raise FailedPrecondition("enrolment closed when the session started: ask the staff")
        found = self._of(resident_id)
        if found is not None and found.state is not EnrolmentState.CANCELLED:
            raise FailedPrecondition(f"the resident is already {found.state} for this session")
        if len(self.enrolments) >= 2 * MAX_CAPACITY and found is None:
            raise FailedPrecondition("the waiting list is full")
        state = EnrolmentState.ENROLLED if self.enrolled < self.capacity else EnrolmentState.WAITING
        if found is None:
            found = Enrolment(resident_id=resident_id, state=state, enrolled_at=at)
            self.enrolments.append(found)
        else:
            found.state, found.enrolled_at = state, at
            self.enrolments.sort(key=lambda e: e.enrolled_at)
        return found

    def cancel_enrolment(self, resident_id: str) -> tuple[Enrolment, Enrolment | None]:
        """Give a seat or a place in line up; the first one waiting takes a freed seat.

        Returns the enrolment given up (as it stood) and the one that took the seat, if any.
        """
        self._require_not_cancelled()
        found = self._of(resident_id)
        if found is None or found.state is EnrolmentState.CANCELLED:
            raise FailedPrecondition("no seat or place on the waiting list to give up")
        given_up = replace(found)
        found.state = EnrolmentState.CANCELLED
        first = None
        if given_up.state is EnrolmentState.ENROLLED:
            first = next((e for e in self.enrolments if e.state is EnrolmentState.WAITING), None)
            if first is not None:
                first.state = EnrolmentState.ENROLLED
        return given_up, first

    def record_taught(self, minutes: int, at: datetime) -> None:
        """The session was taught face to face for `minutes` (0: its scheduled length)."""
        if self.taught_minutes is not None:
            raise FailedPrecondition("the session is already recorded as taught")
        if at < self.starts_at:
            raise FailedPrecondition("a session is recorded as taught once it has started")
        if not 0 <= minutes <= 24 * 60:
            raise InvalidArgument("minutes must be 0 to 1440")
        ran = self.scheduled_minutes
        if self.cancelled_at is not None:
            if self.cancelled_at <= self.starts_at:
                raise FailedPrecondition("the session was cancelled before it started")
            ran = min(ran, int((self.cancelled_at - self.starts_at).total_seconds()) // 60)
            if ran == 0:
                raise FailedPrecondition("the session was cancelled within its first minute")
            if minutes > ran:
                raise InvalidArgument(f"the session ran {ran} minutes before it was cancelled")
        self.taught_minutes = minutes or ran

    def cancel(self, reason: str, at: datetime) -> None:
        """Staff cancel the session: seats and waiting list released, everyone told."""
        reason = _text(reason, "reason", MAX_REASON)
        self._require_not_cancelled()
        if self.taught_minutes is not None:
            raise FailedPrecondition(
                "the session is recorded as taught and its hours counted: it cannot be cancelled"
            )
        if at >= self.ends_at:
            raise FailedPrecondition("the session is over: record it as taught, or leave it")
        self.cancelled_at, self.cancel_reason = at, reason
        self.events.append(
            CourseSessionCancelled(
                community_id=self.community_id,
                occurred_at=at,
                course_session_id=self.id,
                course_id=self.course_id,
                activity_id=self.activity_id,
                reason=reason,
                starts_at=self.starts_at,
                released_enrolled=tuple(
                    e.resident_id for e in self.enrolments if e.state is EnrolmentState.ENROLLED
                ),
                released_waiting=tuple(
                    e.resident_id for e in self.enrolments if e.state is EnrolmentState.WAITING
                ),
            )
        )

    def as_seen_by(self, resident_id: str | None) -> CourseSession:
        """The session for staff (None: everything) or a resident (their own enrolment only)."""
        if resident_id is None:
            return self
        seen = CourseSession(**{**vars(self), "events": []})
        seen.enrolments = [e for e in self.enrolments if e.resident_id == resident_id]
        return seen


@dataclass(frozen=True)
class TeacherHours:
    """What one teacher taught in a year."""

    teacher_id: str
    display_name: str
    minutes: int
    sessions: int


@dataclass(frozen=True)
class TeachingReport:
    """The yearly face-to-face teaching against the target (T2)."""

    year: int
    target_minutes: int
    teachers: tuple[TeacherHours, ...]

    @property
    def taught_minutes(self) -> int:
        """Minutes taught in the year."""
        return sum(t.minutes for t in self.teachers)

    @property
    def shortfall_minutes(self) -> int:
        """Minutes still to teach to reach the target (0 once reached)."""
        return max(0, self.target_minutes - self.taught_minutes)


def teaching_report(
    year: int, target_hours: int, taught: Iterable[CourseSession], teachers: dict[str, Teacher]
) -> TeachingReport:
    """The report of a year from the sessions recorded as taught that started in it."""
    minutes: dict[str, list[int]] = {}
    for session in taught:
        if session.taught_minutes is not None and local_year(session.starts_at) == year:
            minutes.setdefault(session.teacher_id, []).append(session.taught_minutes)
    rows = tuple(
        TeacherHours(
            teacher_id,
            teachers[teacher_id].display_name if teacher_id in teachers else "",
            sum(found),
            len(found),
        )
        for teacher_id, found in sorted(minutes.items())
    )
    return TeachingReport(year, target_hours * 60, rows)
