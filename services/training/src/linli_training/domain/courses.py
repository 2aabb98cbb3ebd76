"""Courses in tiers (T1), with the policy's hours as every community's defaults.

- **Tiers** are beginner → intermediate → advanced. A tier is open to a resident once they
  have completed every course the community offers in the tier before it; a tier with no
  course before it is open to all.
- **The advanced tier is for core volunteers** (队伍骨干): the role is the one identity grants
  (`core_volunteer`), as training learns it from identity's RoleGranted and RoleRevoked, never
  from a token or a request.
- **Length.** A course lasts whole hours (学时, the policy's unit) or, for a community's own
  short course, minutes (1 minute to 200 hours).
- **Completion.** A course is completed once the resident's counted time in its sessions
  reaches `completion_percent` (default 90 %) of its length: attendance counts only time inside
  a session's window, so signing in a minute late must not undo a whole course.
- **Credits** (T3): a completed course earns its credits, once: by default one per whole
  course hour and at least one (a 4-hour course 4, a 20-minute course 1); staff may set
  another number per course. A correction in attendance that takes the counted time below the
  share withdraws the completion and its credits (see `domain.progress`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.errors import FailedPrecondition, InvalidArgument

COURSE_ID = re.compile(r"[a-z][a-z0-9-]{1,39}")
MAX_HOURS = 200
MAX_MINUTES = MAX_HOURS * 60
MAX_CREDITS = 1000
DEFAULT_COMPLETION_PERCENT = 90


class Tier(StrEnum):
    """The course tiers of T1, in order."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"

    @property
    def rank(self) -> int:
        """1 for beginner, 2 for intermediate, 3 for advanced."""
        return list(Tier).index(self) + 1

    @property
    def before(self) -> Tier | None:
        """The tier that must be completed first, if any."""
        return None if self.rank == 1 else list(Tier)[self.rank - 2]

    @property
    def core_volunteers_only(self) -> bool:
        """Whether only core volunteers take the tier's courses."""
        return self is Tier.ADVANCED


@dataclass(frozen=True, kw_only=True)
class Course:
    """One course of a community's catalogue."""

    community_id: str
    id: str
    title: str
    tier: Tier
    minutes: int
    created_at: datetime
    completion_percent: int = DEFAULT_COMPLETION_PERCENT
    description: str = ""
    credits: int = 0

    def __post_init__(self) -> None:
        if not COURSE_ID.fullmatch(self.id):
            raise InvalidArgument("course_id must be 2-40 lower-case letters, digits or hyphens")
        if not self.title.strip() or len(self.title) > 100:
            raise InvalidArgument("a course needs a title of 1 to 100 characters")
        if not 1 <= self.minutes <= MAX_MINUTES:
            raise InvalidArgument(f"a course lasts 1 minute to {MAX_HOURS} hours (course.minutes)")
        if not 0 <= self.credits <= MAX_CREDITS:
            raise InvalidArgument(f"course.credits must be 0 to {MAX_CREDITS} (0: one an hour)")
        if self.credits == 0:
            object.__setattr__(self, "credits", max(1, self.minutes // 60))
        if not 1 <= self.completion_percent <= 100:
            raise InvalidArgument("course.completion_percent must be 1 to 100")
        if len(self.description) > 1000:
            raise InvalidArgument("course.description is longer than 1000 characters")

    @property
    def hours(self) -> int:
        """Whole hours of the course."""
        return self.minutes // 60

    @property
    def required_seconds(self) -> int:
        """Counted attendance that completes the course."""
        return self.minutes * 60 * self.completion_percent // 100


# T1: the policy's courses and hours.
DEFAULT_COURSES: tuple[tuple[str, str, Tier, int], ...] = (
    ("volunteering-ideas", "志愿服务理念", Tier.BEGINNER, 4),
    ("safety", "安全知识", Tier.BEGINNER, 2),
    ("communication", "沟通技巧", Tier.BEGINNER, 3),
    ("first-aid", "急救技能", Tier.INTERMEDIATE, 8),
    ("mediation", "矛盾调解", Tier.INTERMEDIATE, 6),
    ("event-planning", "活动策划", Tier.INTERMEDIATE, 5),
    ("project-management", "项目管理", Tier.ADVANCED, 12),
    ("resource-integration", "资源整合", Tier.ADVANCED, 10),
)


def default_courses(community_id: str, at: datetime) -> list[Course]:
    """The policy's courses (T1) for a community."""
    return [
        Course(community_id=community_id, id=i, title=t, tier=tier, minutes=h * 60, created_at=at)
        for i, t, tier, h in DEFAULT_COURSES
    ]


def tiers_completed(courses: list[Course], completed: set[str]) -> set[Tier]:
    """The tiers whose every course (of those offered) the resident completed."""
    return {
        tier
        for tier in Tier
        if all(c.id in completed for c in courses if c.tier is tier)
        and any(c.tier is tier for c in courses)
    }


def require_open(course: Course, courses: list[Course], completed: set[str], core: bool) -> None:
    """FailedPrecondition, saying what is missing, unless the course's tier is open to them."""
    if course.tier.core_volunteers_only and not core:
        raise FailedPrecondition(
            f"{course.title} is an advanced course, for core volunteers only (core_volunteer role)"
        )
    before = course.tier.before
    if before is None:
        return
    missing = sorted(c.title for c in courses if c.tier is before and c.id not in completed)
    if missing:
        raise FailedPrecondition(
            f"{course.title} needs the {before} courses completed first: {', '.join(missing)}"
        )
