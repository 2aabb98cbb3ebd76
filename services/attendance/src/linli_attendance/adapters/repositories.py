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
    session_corrections,
    sessions,
)
from linli_attendance.domain.activities import (
    Activity,
    ActivityKind,
    Correction,
    FaceMatch,
    Proof,
    ServiceType,
    Session,
    SessionStatus,
    SignInMethod,
    Window,
)
from linli_attendance.domain.leads import LeadStatus, ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.review import Flag, FlagKind
from linli_attendance.service_layer.ports import (
    Activities,
    AttendanceUnitOfWork,
    Flags,
    ProjectLeads,
    Ratings,
    Sessions,
)
from linli_kit.db import SqlUnitOfWork


def _activity(row: Any) -> Activity:
    values = row._asdict()
    values["service_type"] = ServiceType(values["service_type"])
    values["kind"] = ActivityKind(values["kind"])
    for name in ("kiosk_ids", "checklist", "org_units"):
        values[name] = tuple(values[name])
    return Activity(**values)


def _face(values: dict[str, Any], prefix: str) -> FaceMatch | None:
    if values[f"{prefix}face_engine"] is None:
        return None
    return FaceMatch(
        values[f"{prefix}face_engine"],
        values[f"{prefix}face_model_version"],
        values[f"{prefix}face_similarity"],
        values[f"{prefix}face_threshold"],
    )


def _face_columns(face: FaceMatch | None, prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}face_engine": face and face.engine,
        f"{prefix}face_model_version": face and face.model_version,
        f"{prefix}face_similarity": face and face.similarity,
        f"{prefix}face_threshold": face and face.threshold,
    }


def _session(row: Any, corrections: list[Correction]) -> Session:
    v = row._asdict()
    sign_out_proof = None
    if v["out_method"] is not None:
        sign_out_proof = Proof(
            SignInMethod(v["out_method"]),
            v["out_confirmed_by"],
            v["out_kiosk_id"],
            _face(v, "out_"),
        )
    return Session(
        community_id=v["community_id"],
        activity_id=v["activity_id"],
        id=v["id"],
        resident_id=v["resident_id"],
        sign_in_proof=Proof(
            SignInMethod(v["method"]), v["confirmed_by"], v["kiosk_id"], _face(v, "")
        ),
        signed_in_at=v["signed_in_at"],
        window=Window(v["window_starts_at"], v["window_ends_at"]),
        status=SessionStatus(v["status"]),
        signed_out_at=v["signed_out_at"],
        sign_out_proof=sign_out_proof,
        duration_seconds=v["duration_seconds"],
        completed_at=v["completed_at"],
        reviewed_by=v["reviewed_by"],
        checklist_done=tuple(v["checklist_done"]),
        corrections=corrections,
    )


def _session_changes(session: Session) -> dict[str, Any]:
    out = session.sign_out_proof
    return {
        "signed_out_at": session.signed_out_at,
        "duration_seconds": session.duration_seconds,
        "status": session.status.value,
        "completed_at": session.completed_at,
        "reviewed_by": session.reviewed_by,
        "checklist_done": list(session.checklist_done),
        "out_method": out and out.method.value,
        "out_confirmed_by": out and out.confirmed_by,
        "out_kiosk_id": out and out.kiosk_id,
        **_face_columns(out.face if out else None, "out_"),
    }


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


class SqlSessions(Sessions):
    """Sessions table with the append-only corrections table."""

    def __init__(self, session: DbSession) -> None:
        super().__init__()
        self.db = session

    def add(self, session: Session) -> None:
        """Store a new (open) session."""
        proof = session.sign_in_proof
        self.db.execute(
            sa.insert(sessions).values(
                community_id=session.community_id,
                id=session.id,
                activity_id=session.activity_id,
                resident_id=session.resident_id,
                method=proof.method.value,
                confirmed_by=proof.confirmed_by,
                kiosk_id=proof.kiosk_id,
                **_face_columns(proof.face, ""),
                signed_in_at=session.signed_in_at,
                window_starts_at=session.window.starts_at,
                window_ends_at=session.window.ends_at,
                **_session_changes(session),
            )
        )
        self._track(session)

    def _load(self, query: sa.Select[Any]) -> list[Session]:
        rows = self.db.execute(query).all()
        history: dict[tuple[str, str], list[Correction]] = {}
        if rows:
            keys = [(row.community_id, row.id) for row in rows]
            for c in self.db.execute(
                sa.select(session_corrections)
                .where(
                    sa.tuple_(
                        session_corrections.c.community_id, session_corrections.c.session_id
                    ).in_(keys)
                )
                .order_by(session_corrections.c.seq)
            ).all():
                history.setdefault((c.community_id, c.session_id), []).append(
                    Correction(
                        c.previous_duration_seconds,
                        c.duration_seconds,
                        c.corrected_by,
                        c.reason,
                        c.corrected_at,
                    )
                )
        return [
            self._track(_session(row, history.get((row.community_id, row.id), []))) for row in rows
        ]

    def get(self, community_id: str, session_id: str) -> Session | None:
        """A session by id, or None."""
        found = self._load(
            sa.select(sessions).where(
                sessions.c.community_id == community_id, sessions.c.id == session_id
            )
        )
        return found[0] if found else None

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
        found = self._load(query.with_for_update() if lock else query)
        return found[0] if found else None

    def lock_resident(self, community_id: str, resident_id: str) -> None:
        """A transaction-scoped advisory lock on PostgreSQL; SQLite serialises writers anyway."""
        if self.db.get_bind().dialect.name == "postgresql":
            key = f"attendance:{community_id}:{resident_id}"
            self.db.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))

    def of_resident(
        self, community_id: str, resident_id: str, since: datetime, until: datetime
    ) -> list[Session]:
        """The resident's sessions whose time (open ones: from sign-in on) meets [since, until)."""
        return self._load(
            sa.select(sessions)
            .where(
                sessions.c.community_id == community_id,
                sessions.c.resident_id == resident_id,
                sessions.c.signed_in_at < until,
                sa.or_(sessions.c.signed_out_at.is_(None), sessions.c.signed_out_at > since),
            )
            .order_by(sessions.c.signed_in_at)
        )

    def at_occurrence(
        self, community_id: str, activity_id: str, window_start: datetime
    ) -> list[Session]:
        """Every session signed in to one occurrence of an activity."""
        return self._load(
            sa.select(sessions).where(
                sessions.c.community_id == community_id,
                sessions.c.activity_id == activity_id,
                sessions.c.window_starts_at == window_start,
            )
        )

    def forgotten(self, window_ended_before: datetime, limit: int) -> list[Session]:
        """Open sessions whose occurrence ended before the time, locked for update."""
        return self._load(
            sa.select(sessions)
            .where(
                sessions.c.signed_out_at.is_(None),
                sessions.c.window_ends_at < window_ended_before,
            )
            .order_by(sessions.c.window_ends_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    def save(self, session: Session) -> None:
        """Store a session's changes and any new corrections."""
        self.db.execute(
            sa.update(sessions)
            .where(sessions.c.community_id == session.community_id, sessions.c.id == session.id)
            .values(**_session_changes(session))
        )
        stored = self.db.execute(
            sa.select(sa.func.count()).where(
                session_corrections.c.community_id == session.community_id,
                session_corrections.c.session_id == session.id,
            )
        ).scalar_one()
        for seq, correction in enumerate(session.corrections[stored:], start=stored + 1):
            self.db.execute(
                sa.insert(session_corrections).values(
                    community_id=session.community_id,
                    session_id=session.id,
                    seq=seq,
                    previous_duration_seconds=correction.previous_duration_seconds,
                    duration_seconds=correction.duration_seconds,
                    corrected_by=correction.corrected_by,
                    reason=correction.reason,
                    corrected_at=correction.corrected_at,
                )
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

    def page(self, community_id: str, open_only: bool, offset: int, limit: int) -> list[Flag]:
        """A community's flags, newest first."""
        query = sa.select(flags).where(flags.c.community_id == community_id)
        if open_only:
            query = query.where(flags.c.resolved_at.is_(None))
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
        self._track(rating)

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
        self._track(lead)

    def get(self, community_id: str, lead_id: str) -> ProjectLead | None:
        """An application by id, or None."""
        row = self.db.execute(
            sa.select(project_leads).where(
                project_leads.c.community_id == community_id, project_leads.c.id == lead_id
            )
        ).first()
        return None if row is None else self._track(_lead(row))

    def find(self, community_id: str, activity_id: str, resident_id: str) -> ProjectLead | None:
        """The resident's application to lead the activity, locked for update, or None."""
        row = self.db.execute(
            sa.select(project_leads)
            .where(
                project_leads.c.community_id == community_id,
                project_leads.c.activity_id == activity_id,
                project_leads.c.resident_id == resident_id,
            )
            .with_for_update()
        ).first()
        return None if row is None else self._track(_lead(row))

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


class SqlAttendanceUnitOfWork(SqlUnitOfWork, AttendanceUnitOfWork):
    """Attendance unit of work on SQLAlchemy."""

    def open_repositories(self, session: DbSession) -> None:
        """Create the repositories on the session."""
        self.activities = SqlActivities(session)
        self.sessions = SqlSessions(session)
        self.flags = SqlFlags(session)
        self.ratings = SqlRatings(session)
        self.leads = SqlProjectLeads(session)
