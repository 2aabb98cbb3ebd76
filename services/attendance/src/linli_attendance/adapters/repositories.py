"""Attendance repositories on SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_attendance.adapters.orm import activities, sessions
from linli_attendance.domain.activities import (
    Activity,
    ActivityKind,
    ServiceType,
    Session,
    SignInMethod,
)
from linli_attendance.service_layer.ports import Activities, AttendanceUnitOfWork, Sessions
from linli_kit.db import SqlUnitOfWork


def _activity(row: Any) -> Activity:
    values = row._asdict()
    values["service_type"] = ServiceType(values["service_type"])
    values["kind"] = ActivityKind(values["kind"])
    return Activity(**values)


def _session(row: Any) -> Session:
    values = row._asdict()
    values["method"] = SignInMethod(values["method"])
    return Session(**values)


class SqlActivities(Activities):
    """Activities table."""

    def __init__(self, session: DbSession) -> None:
        super().__init__()
        self.db = session

    def add(self, activity: Activity) -> None:
        """Store a new activity."""
        self.db.execute(
            sa.insert(activities).values(
                community_id=activity.community_id,
                id=activity.id,
                title=activity.title,
                service_type=activity.service_type.value,
                kind=activity.kind.value,
                starts_at=activity.starts_at,
                ends_at=activity.ends_at,
                created_at=activity.created_at,
            )
        )
        self._track(activity)

    def get(self, community_id: str, activity_id: str) -> Activity | None:
        """An activity by id, or None."""
        row = self.db.execute(
            sa.select(activities).where(
                activities.c.community_id == community_id, activities.c.id == activity_id
            )
        ).first()
        return None if row is None else self._track(_activity(row))

    def list(self, community_id: str, offset: int, limit: int) -> list[Activity]:
        """A community's activities by start time."""
        rows = self.db.execute(
            sa.select(activities)
            .where(activities.c.community_id == community_id)
            .order_by(activities.c.starts_at, activities.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_activity(row) for row in rows]


class SqlSessions(Sessions):
    """Sessions table."""

    def __init__(self, session: DbSession) -> None:
        super().__init__()
        self.db = session

    def add(self, session: Session) -> None:
        """Store a new (open) session."""
        self.db.execute(
            sa.insert(sessions).values(
                community_id=session.community_id,
                id=session.id,
                activity_id=session.activity_id,
                resident_id=session.resident_id,
                method=session.method.value,
                confirmed_by=session.confirmed_by,
                signed_in_at=session.signed_in_at,
            )
        )
        self._track(session)

    def get(self, community_id: str, session_id: str) -> Session | None:
        """A session by id, or None."""
        row = self.db.execute(
            sa.select(sessions).where(
                sessions.c.community_id == community_id, sessions.c.id == session_id
            )
        ).first()
        return None if row is None else self._track(_session(row))

    def open_for(
        self, community_id: str, activity_id: str, resident_id: str, lock: bool = False
    ) -> Session | None:
        """The resident's open session at the activity, locked for update if asked."""
        query = sa.select(sessions).where(
            sessions.c.community_id == community_id,
            sessions.c.activity_id == activity_id,
            sessions.c.resident_id == resident_id,
            sessions.c.signed_out_at.is_(None),
        )
        row = self.db.execute(query.with_for_update() if lock else query).first()
        return None if row is None else self._track(_session(row))

    def save(self, session: Session) -> None:
        """Store a session's sign-out."""
        self.db.execute(
            sa.update(sessions)
            .where(sessions.c.community_id == session.community_id, sessions.c.id == session.id)
            .values(signed_out_at=session.signed_out_at, duration_seconds=session.duration_seconds)
        )


class SqlAttendanceUnitOfWork(SqlUnitOfWork, AttendanceUnitOfWork):
    """Attendance unit of work on SQLAlchemy."""

    def open_repositories(self, session: DbSession) -> None:
        """Create the repositories on the session."""
        self.activities = SqlActivities(session)
        self.sessions = SqlSessions(session)
