"""A resident's training: attended hours, completed courses, credits, levels, allowances (T3).

- **Attendance** comes from attendance's SessionCompleted of a course session's activity, for
  a resident holding a seat in that session, once per attendance session: its counted seconds
  go to the session's course and are published (TrainingAttended) for points to pay with the
  P5 training rule. Attendance of a resident without a seat is not credited.
- **Completion and credits**: see `domain.courses` (one credit per course hour, once, when
  the counted time reaches the course's completion share).
- **Levels** are a table per community: a title, the credits needed, the tiers whose every
  course must be completed, and the allowance a promotion entitles to (in fen). A resident
  rises through every level they reach, in order of credits needed, each promotion raising
  LevelPromoted and, for a level that carries one, an allowance entitlement that staff see and
  mark paid.
- **Corrections.** Staff correcting (or voiding, to 0 s) an attendance session in attendance
  set its credited seconds anew: the course's attended time follows, a course may complete
  (credits, promotions) or, below its share again, lose its completion and credits
  (CourseCompletionWithdrawn). **Levels are never taken away**: a level reached is kept with
  its allowance and reward, the credits shown are the corrected ones, and the next level
  needs its credits again.
- The shipped table's figures are placeholders (the policy names levels with allowances but
  gives no figures): every community sets its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from linli_kit.domain import Aggregate, DomainEvent, new_id
from linli_kit.errors import FailedPrecondition, InvalidArgument
from linli_training.domain.courses import Course, Tier, tiers_completed

LEVEL_ID = re.compile(r"[a-z][a-z0-9-]{1,39}")
MAX_ALLOWANCE_FEN = 100_000_000


@dataclass(frozen=True, kw_only=True)
class TrainingAttended(DomainEvent):
    """Counted time at a course session was credited to its course."""

    resident_id: str
    course_id: str
    course_session_id: str
    attendance_session: str
    duration_seconds: int


@dataclass(frozen=True, kw_only=True)
class TrainingAttendanceCorrected(DomainEvent):
    """A credited attendance session was corrected in attendance; its new seconds count."""

    resident_id: str
    course_id: str
    course_session_id: str
    attendance_session: str
    previous_seconds: int
    duration_seconds: int


@dataclass(frozen=True, kw_only=True)
class CourseCompletionWithdrawn(DomainEvent):
    """A correction took a completed course below its share: its credits are withdrawn."""

    resident_id: str
    course_id: str
    credits: int
    total_credits: int


@dataclass(frozen=True, kw_only=True)
class CourseCompleted(DomainEvent):
    """A resident completed a course and earned its credits."""

    resident_id: str
    course_id: str
    tier: Tier
    credits: int
    total_credits: int


@dataclass(frozen=True, kw_only=True)
class LevelPromoted(DomainEvent):
    """A resident reached a level."""

    resident_id: str
    level_id: str
    level_title: str
    credits: int
    allowance_fen: int
    allowance_id: str


@dataclass(frozen=True, kw_only=True)
class Level:
    """One row of a community's level table."""

    community_id: str
    id: str
    title: str
    credits_needed: int
    tiers: tuple[Tier, ...] = ()
    allowance_fen: int = 0

    def __post_init__(self) -> None:
        if not LEVEL_ID.fullmatch(self.id):
            raise InvalidArgument("level_id must be 2-40 lower-case letters, digits or hyphens")
        if not self.title.strip() or len(self.title) > 100:
            raise InvalidArgument("a level needs a title of 1 to 100 characters")
        if not 0 <= self.credits_needed <= 10_000:
            raise InvalidArgument("level.credits_needed must be 0 to 10000")
        if not 0 <= self.allowance_fen <= MAX_ALLOWANCE_FEN:
            raise InvalidArgument(f"level.allowance_fen must be 0 to {MAX_ALLOWANCE_FEN}")

    def reached(self, credits: int, completed_tiers: set[Tier]) -> bool:
        """Whether credits and completed tiers reach the level."""
        return credits >= self.credits_needed and set(self.tiers) <= completed_tiers


def default_levels(community_id: str) -> list[Level]:
    """The shipped level table: one level per tier completed (figures are placeholders)."""
    return [
        Level(
            community_id=community_id,
            id="one-star",
            title="一星志愿者",
            credits_needed=9,
            tiers=(Tier.BEGINNER,),
            allowance_fen=50_00,
        ),
        Level(
            community_id=community_id,
            id="two-star",
            title="二星志愿者",
            credits_needed=28,
            tiers=(Tier.BEGINNER, Tier.INTERMEDIATE),
            allowance_fen=100_00,
        ),
        Level(
            community_id=community_id,
            id="three-star",
            title="三星志愿者",
            credits_needed=50,
            tiers=(Tier.BEGINNER, Tier.INTERMEDIATE, Tier.ADVANCED),
            allowance_fen=300_00,
        ),
    ]


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A completed course and the credits it earned."""

    course_id: str
    tier: Tier
    credits: int
    completed_at: datetime


@dataclass(kw_only=True)
class Allowance:
    """An allowance a promotion entitles to, until staff record it paid."""

    community_id: str
    id: str
    resident_id: str
    level_id: str
    level_title: str
    amount_fen: int
    entitled_at: datetime
    paid_by: str = ""
    paid_at: datetime | None = None

    @property
    def paid(self) -> bool:
        """Whether staff recorded the payment."""
        return self.paid_at is not None

    def mark_paid(self, by: str, at: datetime) -> None:
        """Staff record the payment, once."""
        if self.paid:
            raise FailedPrecondition(f"the allowance was already paid on {self.paid_at:%Y-%m-%d}")
        self.paid_by, self.paid_at = by, at


@dataclass(kw_only=True, eq=False)
class Trainee(Aggregate):
    """A resident's attended seconds per course, completions, level and core-volunteer role."""

    community_id: str
    resident_id: str
    core_volunteer: bool = False
    attended: dict[str, int] = field(default_factory=dict)
    completions: dict[str, Completion] = field(default_factory=dict)
    level_ids: list[str] = field(default_factory=list)
    new_allowances: list[Allowance] = field(default_factory=list)

    @property
    def credits(self) -> int:
        """Credits of every completed course."""
        return sum(c.credits for c in self.completions.values())

    @property
    def completed(self) -> set[str]:
        """Ids of the completed courses."""
        return set(self.completions)

    def attend(
        self,
        course: Course,
        course_session_id: str,
        attendance_session: str,
        seconds: int,
        at: datetime,
    ) -> None:
        """Credit counted seconds to a course; complete it once they reach its share."""
        self.attended[course.id] = self.attended.get(course.id, 0) + seconds
        self.events.append(
            TrainingAttended(
                community_id=self.community_id,
                occurred_at=at,
                resident_id=self.resident_id,
                course_id=course.id,
                course_session_id=course_session_id,
                attendance_session=attendance_session,
                duration_seconds=seconds,
            )
        )
        self._follow(course, at)

    def correct(
        self,
        course: Course,
        course_session_id: str,
        attendance_session: str,
        previous: int,
        seconds: int,
        at: datetime,
    ) -> None:
        """Count a credited attendance session's corrected seconds instead of `previous`."""
        self.attended[course.id] = self.attended.get(course.id, 0) - previous + seconds
        self.events.append(
            TrainingAttendanceCorrected(
                community_id=self.community_id,
                occurred_at=at,
                resident_id=self.resident_id,
                course_id=course.id,
                course_session_id=course_session_id,
                attendance_session=attendance_session,
                previous_seconds=previous,
                duration_seconds=seconds,
            )
        )
        self._follow(course, at)

    def _follow(self, course: Course, at: datetime) -> None:
        """Complete the course once its share is reached; withdraw it when no longer."""
        reached = self.attended.get(course.id, 0) >= course.required_seconds
        if course.id in self.completions and not reached:
            withdrawn = self.completions.pop(course.id)
            self.events.append(
                CourseCompletionWithdrawn(
                    community_id=self.community_id,
                    occurred_at=at,
                    resident_id=self.resident_id,
                    course_id=course.id,
                    credits=withdrawn.credits,
                    total_credits=self.credits,
                )
            )
        if course.id in self.completions or not reached:
            return
        self.completions[course.id] = Completion(
            course_id=course.id, tier=course.tier, credits=course.credits, completed_at=at
        )
        self.events.append(
            CourseCompleted(
                community_id=self.community_id,
                occurred_at=at,
                resident_id=self.resident_id,
                course_id=course.id,
                tier=course.tier,
                credits=course.credits,
                total_credits=self.credits,
            )
        )

    def promote(self, levels: Iterable[Level], courses: list[Course], at: datetime) -> None:
        """Rise through every level now reached, each with its event and allowance."""
        done = tiers_completed(courses, self.completed)
        for level in sorted(levels, key=lambda lv: (lv.credits_needed, lv.id)):
            if level.id in self.level_ids or not level.reached(self.credits, done):
                continue
            self.level_ids.append(level.id)
            allowance = ""
            if level.allowance_fen:
                entitled = Allowance(
                    community_id=self.community_id,
                    id=new_id("w"),
                    resident_id=self.resident_id,
                    level_id=level.id,
                    level_title=level.title,
                    amount_fen=level.allowance_fen,
                    entitled_at=at,
                )
                self.new_allowances.append(entitled)
                allowance = entitled.id
            self.events.append(
                LevelPromoted(
                    community_id=self.community_id,
                    occurred_at=at,
                    resident_id=self.resident_id,
                    level_id=level.id,
                    level_title=level.title,
                    credits=self.credits,
                    allowance_fen=level.allowance_fen,
                    allowance_id=allowance,
                )
            )

    def level(self, levels: Iterable[Level]) -> Level | None:
        """The highest level reached (by credits needed), if any."""
        held = [lv for lv in levels if lv.id in self.level_ids]
        return max(held, key=lambda lv: (lv.credits_needed, lv.id), default=None)
