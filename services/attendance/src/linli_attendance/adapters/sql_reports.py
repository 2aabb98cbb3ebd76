"""Staff's reports on SQLAlchemy Core: grouped and joined in the database, a year at most."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_attendance.adapters.orm import activities, ratings, sessions
from linli_attendance.domain.activities import ServiceType, SessionStatus
from linli_attendance.domain.reports import RatingLine, ServedHours
from linli_attendance.service_layer.ports import Reports

COMPLETED, HELD = SessionStatus.COMPLETED.value, SessionStatus.PENDING_REVIEW.value


def _rated(
    community_id: str, since: datetime, until: datetime, activity_id: str | None
) -> sa.Select[Any]:
    """The ratings given in [since, until) joined to their session and activity."""
    query = (
        sa.select()
        .select_from(ratings)
        .join(
            sessions,
            sa.and_(
                sessions.c.community_id == ratings.c.community_id,
                sessions.c.id == ratings.c.session_id,
            ),
        )
        .join(
            activities,
            sa.and_(
                activities.c.community_id == sessions.c.community_id,
                activities.c.id == sessions.c.activity_id,
            ),
        )
        .where(
            ratings.c.community_id == community_id,
            ratings.c.rated_at >= since,
            ratings.c.rated_at < until,
        )
    )
    return query if activity_id is None else query.where(sessions.c.activity_id == activity_id)


class SqlReports(Reports):
    """Reports over the sessions, ratings and activities tables."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def served_hours(
        self, community_id: str, month_starts: Sequence[datetime]
    ) -> list[ServedHours]:
        """One GROUP BY over the year's sessions: month (by the local months' bounds) and type."""
        signed_in = sessions.c.signed_in_at
        month = sa.case(
            *((signed_in < month_starts[m + 1], m + 1) for m in range(12)),
        ).label("month")
        served = sessions.c.status == COMPLETED
        held = sessions.c.status == HELD
        query = (
            sa.select(
                month,
                activities.c.service_type,
                sa.func.coalesce(
                    sa.func.sum(sa.case((served, sessions.c.duration_seconds), else_=0)), 0
                ),
                sa.func.count().filter(served),
                sa.func.count(sa.distinct(sessions.c.resident_id)).filter(served),
                sa.func.coalesce(
                    sa.func.sum(sa.case((held, sessions.c.duration_seconds), else_=0)), 0
                ),
                sa.func.count().filter(held),
            )
            .select_from(sessions)
            .join(
                activities,
                sa.and_(
                    activities.c.community_id == sessions.c.community_id,
                    activities.c.id == sessions.c.activity_id,
                ),
            )
            .where(
                sessions.c.community_id == community_id,
                signed_in >= month_starts[0],
                signed_in < month_starts[12],
                sessions.c.status.in_((COMPLETED, HELD)),
                activities.c.service_type != ServiceType.TRAINING.value,
            )
            .group_by(month, activities.c.service_type)
        )
        order = list(ServiceType)
        found = [
            ServedHours(int(m), ServiceType(kind), int(s), int(n), int(v), int(hs), int(hn))
            for m, kind, s, n, v, hs, hn in self.db.execute(query).all()
        ]
        return sorted(found, key=lambda h: (h.month, order.index(h.service_type)))

    def ratings(
        self,
        community_id: str,
        since: datetime,
        until: datetime,
        activity_id: str | None,
        offset: int,
        limit: int,
    ) -> list[RatingLine]:
        """A page of the ratings with their session's volunteer and activity, newest first."""
        query = (
            _rated(community_id, since, until, activity_id)
            .add_columns(
                sessions.c.activity_id,
                ratings.c.session_id,
                activities.c.title,
                activities.c.service_type,
                sessions.c.resident_id,
                ratings.c.rated_by,
                ratings.c.stars,
                ratings.c.rated_at,
            )
            .order_by(ratings.c.rated_at.desc(), ratings.c.session_id, ratings.c.rated_by)
            .offset(offset)
            .limit(limit)
        )
        return [
            RatingLine(
                community_id=community_id,
                activity_id=row.activity_id,
                session_id=row.session_id,
                activity_title=row.title,
                service_type=ServiceType(row.service_type),
                volunteer_id=row.resident_id,
                rated_by=row.rated_by,
                stars=row.stars,
                rated_at=row.rated_at,
            )
            for row in self.db.execute(query).all()
        ]

    def rating_stars(
        self, community_id: str, since: datetime, until: datetime, activity_id: str | None
    ) -> list[tuple[ServiceType, int, int]]:
        """How many ratings gave each number of stars, per service type (one GROUP BY)."""
        query = (
            _rated(community_id, since, until, activity_id)
            .add_columns(activities.c.service_type, ratings.c.stars, sa.func.count())
            .group_by(activities.c.service_type, ratings.c.stars)
        )
        return [
            (ServiceType(kind), int(stars), int(n))
            for kind, stars, n in self.db.execute(query).all()
        ]
