"""Staff's reports (A2, A5, P1): served hours by month and service type, and ratings."""

from __future__ import annotations

from linli_attendance.domain import access
from linli_attendance.domain.activities import ServiceType
from linli_attendance.domain.reports import (
    RatingLine,
    RatingSummary,
    ServedHours,
    month_starts,
    report_year,
    summary,
)
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import Principal


def report_served_hours(
    actor: Principal,
    community_id: str,
    year: int,
    uow: AttendanceUnitOfWork,
    clock: Clock = utc_now,
) -> tuple[int, list[ServedHours]]:
    """The year reported and its served and held hours, for the community's staff."""
    access.staff_member(actor, community_id)
    shown = report_year(year, clock())
    with uow:
        return shown, uow.reports.served_hours(community_id, month_starts(shown))


def list_ratings(
    actor: Principal,
    community_id: str,
    activity_id: str | None,
    year: int,
    offset: int,
    limit: int,
    uow: AttendanceUnitOfWork,
    clock: Clock = utc_now,
) -> tuple[list[RatingLine], bool, list[RatingSummary]]:
    """A page of a year's ratings, newest first, whether more follow, and their summary per
    service type, for the community's staff."""
    access.staff_member(actor, community_id)
    starts = month_starts(report_year(year, clock()))
    since, until = starts[0], starts[-1]
    with uow:
        if activity_id is not None:
            lookups.activity(uow, community_id, activity_id)
        found = uow.reports.ratings(community_id, since, until, activity_id, offset, limit + 1)
        stars = uow.reports.rating_stars(community_id, since, until, activity_id)
    types = [t for t in ServiceType if any(kind is t for kind, _, _ in stars)]
    summaries = [summary(t, ((s, n) for kind, s, n in stars if kind is t)) for t in types]
    return found[:limit], len(found) > limit, summaries
