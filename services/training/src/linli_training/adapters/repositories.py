"""Repositories of the training records on SQLAlchemy Core, and the SQL unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_kit.db import SqlUnitOfWork, dialect_insert, insert_once, locked
from linli_kit.errors import AlreadyExists, FailedPrecondition
from linli_training.adapters.orm import (
    allowances,
    assessments,
    attendances,
    completions,
    course_sessions,
    courses,
    enrolments,
    levels,
    teachers,
    trainees,
)
from linli_training.domain.assessments import Assessment
from linli_training.domain.courses import Course, Tier
from linli_training.domain.progress import Allowance, Completion, Level, Trainee
from linli_training.domain.sessions import (
    CourseSession,
    Enrolment,
    EnrolmentState,
    Teacher,
    TeacherKind,
)
from linli_training.service_layer import ports


def _insert_new(session: DbSession, statement: Any, what: str) -> None:
    insert_once(session, statement, AlreadyExists(f"{what} already exists"))


def _course(row: Any) -> Course:
    values = row._asdict()
    values["tier"] = Tier(values["tier"])
    return Course(**values)


class SqlCourses(ports.Courses):
    """Courses table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, course: Course) -> None:
        """Store a new course; AlreadyExists if its id is taken."""
        values = {**vars(course), "tier": course.tier.value}
        _insert_new(self.db, sa.insert(courses).values(**values), f"course {course.id}")

    def get(self, community_id: str, course_id: str) -> Course | None:
        """A course by id, or None."""
        row = self.db.execute(
            sa.select(courses).where(
                courses.c.community_id == community_id, courses.c.id == course_id
            )
        ).first()
        return None if row is None else _course(row)

    def all(self, community_id: str) -> list[Course]:
        """A community's courses by tier, then id (at most MAX_COURSES)."""
        rows = self.db.execute(
            sa.select(courses)
            .where(courses.c.community_id == community_id)
            .order_by(courses.c.id)
            .limit(ports.MAX_COURSES)
        ).all()
        return sorted((_course(r) for r in rows), key=lambda c: (c.tier.rank, c.id))


def _teacher(row: Any) -> Teacher:
    values = row._asdict()
    values["kind"] = TeacherKind(values["kind"])
    values["qualified_courses"] = tuple(values["qualified_courses"])
    values["certificates"] = tuple(values["certificates"])
    return Teacher(**values)


class SqlTeachers(ports.Teachers):
    """Teachers table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, teacher: Teacher) -> None:
        """Store a new teacher."""
        values = {
            **vars(teacher),
            "kind": teacher.kind.value,
            "qualified_courses": list(teacher.qualified_courses),
            "certificates": list(teacher.certificates),
        }
        self.db.execute(sa.insert(teachers).values(**values))

    def get(self, community_id: str, teacher_id: str) -> Teacher | None:
        """A teacher by id, or None."""
        row = self.db.execute(
            sa.select(teachers).where(
                teachers.c.community_id == community_id, teachers.c.id == teacher_id
            )
        ).first()
        return None if row is None else _teacher(row)

    def page(self, community_id: str, offset: int, limit: int) -> list[Teacher]:
        """A community's teachers by name."""
        rows = self.db.execute(
            sa.select(teachers)
            .where(teachers.c.community_id == community_id)
            .order_by(teachers.c.display_name, teachers.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_teacher(r) for r in rows]


class SqlCourseSessions(ports.CourseSessions):
    """Course sessions and their enrolments, written under the session's row lock."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def _session(self, row: Any) -> CourseSession:
        values = row._asdict()
        values["kiosk_ids"] = tuple(values["kiosk_ids"])
        found = CourseSession(**values)
        rows = self.db.execute(
            sa.select(enrolments)
            .where(
                enrolments.c.community_id == found.community_id, enrolments.c.session_id == found.id
            )
            .order_by(enrolments.c.enrolled_at, enrolments.c.resident_id)
        ).all()
        found.enrolments = [
            Enrolment(
                resident_id=r.resident_id, state=EnrolmentState(r.state), enrolled_at=r.enrolled_at
            )
            for r in rows
        ]
        return found

    def add(self, session: CourseSession) -> None:
        """Store a new session."""
        values = {k: v for k, v in vars(session).items() if k not in ("events", "enrolments")}
        values["kiosk_ids"] = list(session.kiosk_ids)
        self.db.execute(sa.insert(course_sessions).values(**values))

    def get(self, community_id: str, session_id: str) -> CourseSession | None:
        """A session by id, locked for update until the unit of work ends, or None."""
        query = sa.select(course_sessions).where(
            course_sessions.c.community_id == community_id, course_sessions.c.id == session_id
        )
        row = self.db.execute(locked(query, self.db)).first()
        return None if row is None else self._session(row)

    def by_activity(self, community_id: str, activity_id: str) -> CourseSession | None:
        """The session whose sign-in activity this is, or None."""
        row = self.db.execute(
            sa.select(course_sessions).where(
                course_sessions.c.community_id == community_id,
                course_sessions.c.activity_id == activity_id,
            )
        ).first()
        return None if row is None else self._session(row)

    def save(self, session: CourseSession) -> None:
        """Store a session's enrolments, taught minutes and cancellation."""
        self.db.execute(
            sa.update(course_sessions)
            .where(
                course_sessions.c.community_id == session.community_id,
                course_sessions.c.id == session.id,
            )
            .values(
                taught_minutes=session.taught_minutes,
                cancelled_at=session.cancelled_at,
                cancel_reason=session.cancel_reason,
            )
        )
        for enrolment in session.enrolments:
            values = {
                "community_id": session.community_id,
                "session_id": session.id,
                "resident_id": enrolment.resident_id,
                "state": enrolment.state.value,
                "enrolled_at": enrolment.enrolled_at,
            }
            self.db.execute(
                dialect_insert(self.db, enrolments)
                .values(**values)
                .on_conflict_do_update(
                    index_elements=["community_id", "session_id", "resident_id"],
                    set_={"state": values["state"], "enrolled_at": values["enrolled_at"]},
                )
            )

    def page(self, community_id: str, offset: int, limit: int) -> list[CourseSession]:
        """A community's sessions by start time."""
        rows = self.db.execute(
            sa.select(course_sessions)
            .where(course_sessions.c.community_id == community_id)
            .order_by(course_sessions.c.starts_at, course_sessions.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [self._session(r) for r in rows]

    def taught(self, community_id: str, since: datetime, until: datetime) -> list[CourseSession]:
        """Sessions recorded as taught that started in [since, until)."""
        rows = self.db.execute(
            sa.select(course_sessions).where(
                course_sessions.c.community_id == community_id,
                course_sessions.c.taught_minutes.is_not(None),
                course_sessions.c.starts_at >= since,
                course_sessions.c.starts_at < until,
            )
        ).all()
        values = [r._asdict() for r in rows]
        return [CourseSession(**{**v, "kiosk_ids": tuple(v["kiosk_ids"])}) for v in values]

    def communities(self) -> list[str]:
        """The communities with course sessions (at most MAX_COMMUNITIES)."""
        query = (
            sa.select(course_sessions.c.community_id)
            .distinct()
            .order_by(course_sessions.c.community_id)
            .limit(ports.MAX_COMMUNITIES)
        )
        return list(self.db.execute(query).scalars())


class SqlTrainees(ports.Trainees):
    """Trainees with their attendances and completions; allowances are written with them."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def get(self, community_id: str, resident_id: str) -> Trainee:
        """A resident's record (empty if new), locked for update until the unit of work ends."""
        key = {"community_id": community_id, "resident_id": resident_id}
        self.db.execute(
            dialect_insert(self.db, trainees)
            .values(**key, core_volunteer=False, level_ids=[])
            .on_conflict_do_nothing()
        )
        query = sa.select(trainees).where(
            trainees.c.community_id == community_id, trainees.c.resident_id == resident_id
        )
        row = self.db.execute(locked(query, self.db)).one()
        attended = self.db.execute(
            sa.select(attendances.c.course_id, sa.func.sum(attendances.c.seconds))
            .where(
                attendances.c.community_id == community_id, attendances.c.resident_id == resident_id
            )
            .group_by(attendances.c.course_id)
        ).all()
        done = self.db.execute(
            sa.select(completions).where(
                completions.c.community_id == community_id, completions.c.resident_id == resident_id
            )
        ).all()
        return Trainee(
            community_id=community_id,
            resident_id=resident_id,
            core_volunteer=row.core_volunteer,
            attended={course: int(seconds) for course, seconds in attended},
            completions={
                c.course_id: Completion(
                    course_id=c.course_id,
                    tier=Tier(c.tier),
                    credits=c.credits,
                    completed_at=c.completed_at,
                )
                for c in done
            },
            level_ids=list(row.level_ids),
        )

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
        inserted = self.db.execute(
            dialect_insert(self.db, attendances)
            .values(
                community_id=trainee.community_id,
                session=attendance_session,
                resident_id=trainee.resident_id,
                course_session_id=course_session_id,
                course_id=course_id,
                seconds=seconds,
                credited_at=at,
            )
            .on_conflict_do_nothing()
            .returning(attendances.c.session)
        ).first()
        return inserted is not None

    def credited(self, community_id: str, attendance_session: str) -> int | None:
        """The seconds credited for an attendance session, or None if it never was."""
        return self.db.execute(
            sa.select(attendances.c.seconds).where(
                attendances.c.community_id == community_id,
                attendances.c.session == attendance_session,
            )
        ).scalar()

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
        key = (
            attendances.c.community_id == trainee.community_id,
            attendances.c.session == attendance_session,
        )
        row = self.db.execute(sa.select(attendances).where(*key)).first()
        if row is None:
            self.db.execute(
                sa.insert(attendances).values(
                    community_id=trainee.community_id,
                    session=attendance_session,
                    resident_id=trainee.resident_id,
                    course_session_id=course_session_id,
                    course_id=course_id,
                    seconds=seconds,
                    credited_at=corrected_at,
                    corrected_at=corrected_at,
                )
            )
            return 0
        if row.corrected_at is not None and row.corrected_at >= corrected_at:
            return None
        self.db.execute(
            sa.update(attendances).where(*key).values(seconds=seconds, corrected_at=corrected_at)
        )
        return int(row.seconds)

    def save(self, trainee: Trainee) -> None:
        """Store a record's completions, levels, new allowances and core-volunteer role."""
        key = {"community_id": trainee.community_id, "resident_id": trainee.resident_id}
        self.db.execute(
            sa.update(trainees)
            .where(
                trainees.c.community_id == trainee.community_id,
                trainees.c.resident_id == trainee.resident_id,
            )
            .values(core_volunteer=trainee.core_volunteer, level_ids=list(trainee.level_ids))
        )
        self.db.execute(
            sa.delete(completions).where(
                completions.c.community_id == trainee.community_id,
                completions.c.resident_id == trainee.resident_id,
                completions.c.course_id.not_in(list(trainee.completions)),
            )
        )
        for completion in trainee.completions.values():
            self.db.execute(
                dialect_insert(self.db, completions)
                .values(
                    **key,
                    course_id=completion.course_id,
                    tier=completion.tier.value,
                    credits=completion.credits,
                    completed_at=completion.completed_at,
                )
                .on_conflict_do_nothing()
            )
        while trainee.new_allowances:
            entitled = trainee.new_allowances.pop(0)
            self.db.execute(sa.insert(allowances).values(**vars(entitled)))


def _level(row: Any) -> Level:
    values = row._asdict()
    values["tiers"] = tuple(Tier(t) for t in values["tiers"])
    return Level(**values)


class SqlLevels(ports.Levels):
    """Levels table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, level: Level) -> None:
        """Store a new level; AlreadyExists if its id is taken."""
        values = {**vars(level), "tiers": [t.value for t in level.tiers]}
        _insert_new(self.db, sa.insert(levels).values(**values), f"level {level.id}")

    def get(self, community_id: str, level_id: str) -> Level | None:
        """A level by id, or None."""
        row = self.db.execute(
            sa.select(levels).where(levels.c.community_id == community_id, levels.c.id == level_id)
        ).first()
        return None if row is None else _level(row)

    def all(self, community_id: str) -> list[Level]:
        """A community's levels by credits needed (at most MAX_LEVELS)."""
        rows = self.db.execute(
            sa.select(levels)
            .where(levels.c.community_id == community_id)
            .order_by(levels.c.credits_needed, levels.c.id)
            .limit(ports.MAX_LEVELS)
        ).all()
        return [_level(r) for r in rows]


class SqlAllowances(ports.Allowances):
    """Allowances table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def get(self, community_id: str, allowance_id: str) -> Allowance | None:
        """An allowance by id, locked for update until the unit of work ends, or None."""
        query = sa.select(allowances).where(
            allowances.c.community_id == community_id, allowances.c.id == allowance_id
        )
        row = self.db.execute(locked(query, self.db)).first()
        return None if row is None else Allowance(**row._asdict())

    def page(
        self,
        community_id: str,
        resident_id: str | None,
        unpaid_only: bool,
        offset: int,
        limit: int,
    ) -> list[Allowance]:
        """A community's (or one resident's) allowances, newest first."""
        query = sa.select(allowances).where(allowances.c.community_id == community_id)
        if resident_id is not None:
            query = query.where(allowances.c.resident_id == resident_id)
        if unpaid_only:
            query = query.where(allowances.c.paid_at.is_(None))
        rows = self.db.execute(
            query.order_by(allowances.c.entitled_at.desc(), allowances.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [Allowance(**r._asdict()) for r in rows]

    def save(self, allowance: Allowance) -> None:
        """Store an allowance's payment."""
        self.db.execute(
            sa.update(allowances)
            .where(
                allowances.c.community_id == allowance.community_id,
                allowances.c.id == allowance.id,
            )
            .values(paid_by=allowance.paid_by, paid_at=allowance.paid_at)
        )

    def unpaid_before(self, before: datetime) -> dict[str, int]:
        """Per community, allowances entitled before the time and not yet paid."""
        rows = self.db.execute(
            sa.select(allowances.c.community_id, sa.func.count())
            .where(allowances.c.paid_at.is_(None), allowances.c.entitled_at < before)
            .group_by(allowances.c.community_id)
            .limit(ports.MAX_COMMUNITIES)
        ).all()
        return {community: int(count) for community, count in rows}


def _assessment(row: Any) -> Assessment:
    values = row._asdict()
    values["answers"] = tuple(values["answers"])
    return Assessment(**values)


class SqlAssessments(ports.Assessments):
    """Assessments table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def of_year(self, community_id: str, resident_id: str, year: int) -> list[Assessment]:
        """A resident's results and decline of one year."""
        rows = self.db.execute(
            sa.select(assessments).where(
                assessments.c.community_id == community_id,
                assessments.c.resident_id == resident_id,
                assessments.c.year == year,
            )
        ).all()
        return [_assessment(r) for r in rows]

    def add(self, assessment: Assessment) -> None:
        """Store a result or a decline; FailedPrecondition if the year already has it."""
        values = {**vars(assessment), "answers": list(assessment.answers)}
        insert_once(
            self.db,
            sa.insert(assessments).values(**values),
            FailedPrecondition("this year's assessment is already recorded"),
        )

    def delete_year(self, community_id: str, resident_id: str, year: int) -> int:
        """Delete a resident's results of a year; how many there were."""
        deleted = self.db.execute(
            sa.delete(assessments).where(
                assessments.c.community_id == community_id,
                assessments.c.resident_id == resident_id,
                assessments.c.year == year,
            )
        )
        return int(deleted.rowcount)  # type: ignore[attr-defined]

    def page(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[Assessment]:
        """A resident's results and declines, newest first."""
        rows = self.db.execute(
            sa.select(assessments)
            .where(
                assessments.c.community_id == community_id, assessments.c.resident_id == resident_id
            )
            .order_by(assessments.c.created_at.desc(), assessments.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_assessment(r) for r in rows]


class SqlTrainingUnitOfWork(SqlUnitOfWork, ports.TrainingUnitOfWork):
    """Every training repository on one session; events go to the outbox in the same commit."""

    def open_repositories(self, session: DbSession) -> None:
        """Create the repositories on the session."""
        self.courses = SqlCourses(session)
        self.teachers = SqlTeachers(session)
        self.sessions = SqlCourseSessions(session)
        self.trainees = SqlTrainees(session)
        self.levels = SqlLevels(session)
        self.allowances = SqlAllowances(session)
        self.assessments = SqlAssessments(session)
