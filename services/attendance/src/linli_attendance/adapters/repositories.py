"""Attendance repositories on SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_attendance.adapters.orm import (
    activities,
    flags,
    project_leads,
    ratings,
    roster_entries,
)
from linli_attendance.adapters.sql_reports import SqlReports
from linli_attendance.adapters.sql_sessions import SqlSessions
from linli_attendance.domain.activities import Activity, ScheduleKind, ServiceType
from linli_attendance.domain.leads import LeadStatus, ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.review import Flag, FlagKind
from linli_attendance.domain.roster import RosterEntry, RosterRole
from linli_attendance.service_layer.ports import (
    Activities,
    AttendanceUnitOfWork,
    Flags,
    ProjectLeads,
    Ratings,
    Rosters,
)
from linli_kit.db import SqlUnitOfWork


def _activity(row: Any) -> Activity:
    values = row._asdict()
    values["service_type"] = ServiceType(values["service_type"])
    values["kind"] = ScheduleKind(values["kind"])
    values.pop("resident_locked", None)
    for name in ("kiosk_ids", "checklist", "org_units"):
        values[name] = tuple(values[name])
    return Activity(**values)


# An activity with whether anyone applied to lead it: a sign-out looks for a lead only then.
_ACTIVITY_ROW = sa.select(
    activities,
    sa.exists()
    .where(
        project_leads.c.community_id == activities.c.community_id,
        project_leads.c.activity_id == activities.c.id,
    )
    .label("led"),
)
# Statements of every sign-in and sign-out, built once (building costs more than running).
_ACTIVITY = _ACTIVITY_ROW.where(
    activities.c.community_id == sa.bindparam("community_id"),
    activities.c.id == sa.bindparam("activity_id"),
)
# The resident's lock, taken as the activity is read: a statement fewer per sign-in or out.
_ACTIVITY_LOCKING = _ACTIVITY.add_columns(
    sa.func.pg_advisory_xact_lock(sa.func.hashtext(sa.bindparam("lock_key"))).label(
        "resident_locked"
    )
)
_LEAD_OF = (
    sa.select(project_leads)
    .where(
        project_leads.c.community_id == sa.bindparam("community_id"),
        project_leads.c.activity_id == sa.bindparam("activity_id"),
        project_leads.c.resident_id == sa.bindparam("resident_id"),
    )
    .with_for_update()
)


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
                place=activity.place,
                capacity=activity.capacity,
                occurrence_count=activity.occurrence_count,
                kiosk_ids=list(activity.kiosk_ids),
                checklist=list(activity.checklist),
                org_units=list(activity.org_units),
                check_in_code=activity.check_in_code,
                closed_at=activity.closed_at,
            )
        )

    def get(self, community_id: str, activity_id: str, lock_resident: str = "") -> Activity | None:
        """An activity by id, or None; the resident's lock is a transaction-scoped advisory
        lock on PostgreSQL (SQLite serialises writers anyway)."""
        values = {"community_id": community_id, "activity_id": activity_id}
        query = _ACTIVITY
        if lock_resident and self.db.get_bind().dialect.name == "postgresql":
            query = _ACTIVITY_LOCKING
            values["lock_key"] = f"attendance:{community_id}:{lock_resident}"
        row = self.db.execute(query, values).first()
        return None if row is None else _activity(row)

    def list(self, community_id: str, offset: int, limit: int) -> list[Activity]:
        """A community's activities by start time."""
        rows = self.db.execute(
            _ACTIVITY_ROW.where(activities.c.community_id == community_id)
            .order_by(activities.c.starts_at, activities.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_activity(row) for row in rows]

    def save(self, activity: Activity) -> None:
        """Store an activity's closing."""
        self.db.execute(
            sa.update(activities)
            .where(
                activities.c.community_id == activity.community_id,
                activities.c.id == activity.id,
            )
            .values(closed_at=activity.closed_at)
        )


def _flag(row: Any) -> Flag:
    values = row._asdict()
    values["kind"] = FlagKind(values["kind"])
    return Flag(**values)


class SqlFlags(Flags):
    """Flags table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, flag: Flag) -> None:
        """Store a new flag."""
        self.db.execute(
            sa.insert(flags).values(
                community_id=flag.community_id,
                id=flag.id,
                kind=flag.kind.value,
                reason=flag.reason[:500],
                resident_id=flag.resident_id,
                activity_id=flag.activity_id,
                session_id=flag.session_id,
                raised_at=flag.raised_at,
                resolved_by=flag.resolved_by,
                resolved_at=flag.resolved_at,
            )
        )

    def get(self, community_id: str, flag_id: str) -> Flag | None:
        """A flag by id, or None."""
        row = self.db.execute(
            sa.select(flags).where(flags.c.community_id == community_id, flags.c.id == flag_id)
        ).first()
        return None if row is None else _flag(row)

    def page(
        self,
        community_id: str,
        open_only: bool,
        offset: int,
        limit: int,
        about: str | None = None,
        kinds: frozenset[FlagKind] | None = None,
    ) -> list[Flag]:
        """A community's flags, newest first (only those about a resident, of some kinds)."""
        query = sa.select(flags).where(flags.c.community_id == community_id)
        if open_only:
            query = query.where(flags.c.resolved_at.is_(None))
        if about is not None:
            query = query.where(flags.c.resident_id == about)
        if kinds is not None:
            query = query.where(flags.c.kind.in_(sorted(kind.value for kind in kinds)))
        rows = self.db.execute(
            query.order_by(flags.c.raised_at.desc(), flags.c.id).offset(offset).limit(limit)
        ).all()
        return [_flag(row) for row in rows]

    def open_for_session(self, community_id: str, session_id: str) -> list[Flag]:
        """The unresolved flags of one session."""
        rows = self.db.execute(
            sa.select(flags).where(
                flags.c.community_id == community_id,
                flags.c.session_id == session_id,
                flags.c.resolved_at.is_(None),
            )
        ).all()
        return [_flag(row) for row in rows]

    def save(self, flag: Flag) -> None:
        """Store a flag's resolution."""
        self.db.execute(
            sa.update(flags)
            .where(flags.c.community_id == flag.community_id, flags.c.id == flag.id)
            .values(resolved_by=flag.resolved_by, resolved_at=flag.resolved_at)
        )


class SqlRatings(Ratings):
    """Ratings table; its primary key allows one rating per resident and session."""

    def __init__(self, session: DbSession) -> None:
        super().__init__()
        self.db = session

    def add(self, rating: Rating) -> None:
        """Store a new rating."""
        self.db.execute(
            sa.insert(ratings).values(
                community_id=rating.community_id,
                session_id=rating.session_id,
                rated_by=rating.rated_by,
                stars=rating.stars,
                rated_at=rating.rated_at,
            )
        )

    def get(self, community_id: str, session_id: str, rated_by: str) -> Rating | None:
        """One resident's rating of a session, or None."""
        row = self.db.execute(
            sa.select(ratings).where(
                ratings.c.community_id == community_id,
                ratings.c.session_id == session_id,
                ratings.c.rated_by == rated_by,
            )
        ).first()
        return None if row is None else Rating(**row._asdict())


def _lead(row: Any) -> ProjectLead:
    values = row._asdict()
    values["status"] = LeadStatus(values["status"])
    values["runs"] = tuple(datetime.fromisoformat(run) for run in values["runs"])
    return ProjectLead(**values)


class SqlProjectLeads(ProjectLeads):
    """Project-lead applications table."""

    def __init__(self, session: DbSession) -> None:
        super().__init__()
        self.db = session

    def add(self, lead: ProjectLead) -> None:
        """Store a new application."""
        self.db.execute(
            sa.insert(project_leads).values(
                community_id=lead.community_id,
                id=lead.id,
                activity_id=lead.activity_id,
                resident_id=lead.resident_id,
                motivation=lead.motivation,
                status=lead.status.value,
                applied_at=lead.applied_at,
                approved_by=lead.approved_by,
                approved_at=lead.approved_at,
                runs=[run.isoformat() for run in lead.runs],
                promoted_at=lead.promoted_at,
            )
        )

    def get(self, community_id: str, lead_id: str) -> ProjectLead | None:
        """An application by id, or None."""
        row = self.db.execute(
            sa.select(project_leads).where(
                project_leads.c.community_id == community_id, project_leads.c.id == lead_id
            )
        ).first()
        return None if row is None else _lead(row)

    def find(self, community_id: str, activity_id: str, resident_id: str) -> ProjectLead | None:
        """The resident's application to lead the activity, locked for update, or None."""
        values = {"community_id": community_id, "activity_id": activity_id}
        row = self.db.execute(_LEAD_OF, {**values, "resident_id": resident_id}).first()
        return None if row is None else _lead(row)

    def save(self, lead: ProjectLead) -> None:
        """Store an application's approval, runs and promotion."""
        self.db.execute(
            sa.update(project_leads)
            .where(project_leads.c.community_id == lead.community_id, project_leads.c.id == lead.id)
            .values(
                status=lead.status.value,
                approved_by=lead.approved_by,
                approved_at=lead.approved_at,
                runs=[run.isoformat() for run in lead.runs],
                promoted_at=lead.promoted_at,
            )
        )


def _entry(row: Any) -> RosterEntry:
    values = row._asdict()
    values["role"] = RosterRole(values["role"])
    return RosterEntry(**values)


class SqlRosters(Rosters):
    """Roster entries table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def _occurrence(self, community_id: str, activity_id: str, starts_at: datetime) -> Any:
        return (
            roster_entries.c.community_id == community_id,
            roster_entries.c.activity_id == activity_id,
            roster_entries.c.occurrence_starts_at == starts_at,
        )

    def get(
        self, community_id: str, activity_id: str, starts_at: datetime, resident_id: str
    ) -> RosterEntry | None:
        """A resident's entry on an occurrence's roster (current or removed), or None."""
        row = self.db.execute(
            sa.select(roster_entries).where(
                *self._occurrence(community_id, activity_id, starts_at),
                roster_entries.c.resident_id == resident_id,
            )
        ).first()
        return None if row is None else _entry(row)

    def current(
        self, community_id: str, activity_id: str, starts_at: datetime, lock: bool = False
    ) -> list[RosterEntry]:
        """The current roster; `lock` takes a transaction-scoped advisory lock on PostgreSQL
        (SQLite serialises writers anyway), so two adds cannot both pass the bounds."""
        if lock and self.db.get_bind().dialect.name == "postgresql":
            key = f"attendance-roster:{community_id}:{activity_id}:{starts_at.isoformat()}"
            self.db.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))
        rows = self.db.execute(self._current(community_id, activity_id, starts_at)).all()
        return [_entry(row) for row in rows]

    def _current(self, community_id: str, activity_id: str, starts_at: datetime) -> sa.Select:
        return (
            sa.select(roster_entries)
            .where(
                *self._occurrence(community_id, activity_id, starts_at),
                roster_entries.c.removed_at.is_(None),
            )
            .order_by(roster_entries.c.added_at, roster_entries.c.resident_id)
        )

    def page(
        self,
        community_id: str,
        activity_id: str,
        starts_at: datetime,
        offset: int,
        limit: int,
        resident_id: str | None = None,
    ) -> list[RosterEntry]:
        """A page of the current roster in its order; only one resident's entry if named."""
        query = self._current(community_id, activity_id, starts_at)
        if resident_id is not None:
            query = query.where(roster_entries.c.resident_id == resident_id)
        rows = self.db.execute(query.offset(offset).limit(limit)).all()
        return [_entry(row) for row in rows]

    def put(self, entry: RosterEntry) -> None:
        """Store an entry, replacing the resident's earlier one on the occurrence."""
        key = self._occurrence(entry.community_id, entry.activity_id, entry.occurrence_starts_at)
        self.db.execute(
            sa.delete(roster_entries).where(*key, roster_entries.c.resident_id == entry.resident_id)
        )
        self.db.execute(
            sa.insert(roster_entries).values(
                community_id=entry.community_id,
                activity_id=entry.activity_id,
                occurrence_starts_at=entry.occurrence_starts_at,
                resident_id=entry.resident_id,
                role=entry.role.value,
                added_by=entry.added_by,
                added_at=entry.added_at,
                removed_at=entry.removed_at,
            )
        )


class SqlAttendanceUnitOfWork(SqlUnitOfWork, AttendanceUnitOfWork):
    """Attendance unit of work on SQLAlchemy."""

    def open_repositories(self, session: DbSession) -> None:
        """Create the repositories on the session."""
        self.activities = SqlActivities(session)
        self.sessions = SqlSessions(session)
        self.flags = SqlFlags(session)
        self.ratings = SqlRatings(session)
        self.leads = SqlProjectLeads(session)
        self.rosters = SqlRosters(session)
        self.reports = SqlReports(session)
