"""What staff read about their community's service (A2, A5, P1): served hours and ratings.

Rules of the reports:

- **A year at most.** Each report covers one local calendar year (LOCAL_TZ) of the platform's
  calendar; months are local months, their bounds the UTC instants where they begin.
- **Served hours** are the counted duration of COMPLETED sessions as it stands now (after
  every correction and confirmation), in the month of the session's sign-in (a session
  belongs to the day of its sign-in, as for the time cap). Sessions held for review
  (PENDING_REVIEW: a forgotten sign-out, an uncertain face) are not credited: they are
  reported apart, so staff see what waits for them. Open sessions have no duration yet.
  Course sessions (TRAINING) are training's hours, not service (P5), and are left out.
- **Ratings** are counted in the local year they were given; a summary counts every rating
  the request selects, per service type of the rated activity and overall, with the mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from linli_attendance.domain.activities import LOCAL_TZ, ServiceType, SessionStatus
from linli_kit.errors import InvalidArgument

FIRST_YEAR, LAST_YEAR = 2000, 2199  # the platform's calendar (activities.CALENDAR_START/END)
STARS = (1, 2, 3, 4, 5)


def report_year(year: int, now: datetime) -> int:
    """The year asked for (0: the current local year), or InvalidArgument."""
    if year == 0:
        return now.astimezone(LOCAL_TZ).year
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidArgument(f"year must be {FIRST_YEAR} to {LAST_YEAR} (or 0 for this year)")
    return year


def month_starts(year: int) -> tuple[datetime, ...]:
    """The thirteen instants where the year's local months begin (the last: the next year's)."""
    starts = [datetime(year, month, 1, tzinfo=LOCAL_TZ) for month in range(1, 13)]
    return (*starts, datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ))


def month_of(at: datetime, starts: Sequence[datetime]) -> int | None:
    """The month (1-12) of the year whose bounds are `starts`, or None outside it."""
    for month in range(12):
        if starts[month] <= at < starts[month + 1]:
            return month + 1
    return None


def counted_as(status: SessionStatus, service_type: ServiceType) -> str | None:
    """How a session counts in the served hours: 'served', 'held', or None (not at all)."""
    if service_type is ServiceType.TRAINING:
        return None
    if status is SessionStatus.COMPLETED:
        return "served"
    if status is SessionStatus.PENDING_REVIEW:
        return "held"
    return None


@dataclass(frozen=True)
class ServedHours:
    """The served and held hours of one service type in one month."""

    month: int
    service_type: ServiceType
    served_seconds: int = 0
    sessions: int = 0
    volunteers: int = 0
    held_seconds: int = 0
    held_sessions: int = 0


@dataclass(frozen=True)
class RatingLine:
    """One rating with the session it rates: who rated whom, how and when."""

    community_id: str
    activity_id: str
    session_id: str
    activity_title: str
    service_type: ServiceType
    volunteer_id: str
    rated_by: str
    stars: int
    rated_at: datetime


@dataclass(frozen=True)
class RatingSummary:
    """Ratings counted together: how many gave each number of stars."""

    service_type: ServiceType | None
    star_counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    @property
    def count(self) -> int:
        """How many ratings."""
        return sum(self.star_counts)

    @property
    def mean_stars(self) -> float:
        """Their mean stars, 0 for none."""
        total = sum(stars * n for stars, n in zip(STARS, self.star_counts, strict=True))
        return total / self.count if self.count else 0.0


def summary(service_type: ServiceType | None, stars: Iterable[tuple[int, int]]) -> RatingSummary:
    """A summary from (stars, how many) pairs."""
    counts = dict.fromkeys(STARS, 0)
    for given, n in stars:
        counts[given] += n
    c1, c2, c3, c4, c5 = (counts[s] for s in STARS)
    return RatingSummary(service_type, (c1, c2, c3, c4, c5))


def overall(by_type: Sequence[RatingSummary]) -> RatingSummary:
    """The summary of every service type together."""
    return summary(None, ((s, part.star_counts[s - 1]) for part in by_type for s in STARS))
