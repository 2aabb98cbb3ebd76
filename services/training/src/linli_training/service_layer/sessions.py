"""Use cases of course sessions (T2): scheduling with attendance, enrolment, teaching hours."""

from __future__ import annotations

from collections.abc import Sequence

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_training.domain import access
from linli_training.domain.courses import require_open
from linli_training.domain.sessions import (
    CourseSession,
    Enrolment,
    EnrolmentState,
    TeachingReport,
    id_for_request,
    report_year,
    teaching_report,
    year_bounds,
)
from linli_training.service_layer import catalogue
from linli_training.service_layer.commands import (
    CancelCourseSession,
    CancelEnrolment,
    Enrol,
    RecordSessionTaught,
    ScheduleCourseSession,
)
from linli_training.service_layer.ports import Attendance, TrainingUnitOfWork

SessionCommand = (
    ScheduleCourseSession | CancelCourseSession | RecordSessionTaught | Enrol | CancelEnrolment
)


def session(uow: TrainingUnitOfWork, community_id: str, session_id: str) -> CourseSession:
    """A session of the community, locked for update, or NotFound."""
    found = uow.sessions.get(community_id, session_id)
    if found is None:
        raise NotFound(f"no course session {session_id} in {community_id}")
    return found


def _reload(uow: TrainingUnitOfWork, cmd: SessionCommand, ref: str) -> CourseSession:
    return session(uow, cmd.community_id, ref)


@idempotent(_reload)
def schedule_course_session(
    cmd: ScheduleCourseSession,
    uow: TrainingUnitOfWork,
    attendance: Attendance,
    clock: Clock = utc_now,
) -> CourseSession:
    """Staff schedule a session; attendance plans its training activity under the same ids.

    The session's id comes from the request id, and attendance is asked with a request id
    from the session's, so a retry after a crash between the two finds the same activity.
    """
    access.require_staff(cmd.actor, cmd.community_id)
    course = catalogue.course(uow, cmd.community_id, cmd.course_id)
    teacher = catalogue.teacher(uow, cmd.community_id, cmd.teacher_id)
    scheduled = CourseSession.schedule(
        id_for_request("cs", cmd.community_id, cmd.request_id),
        course,
        teacher,
        cmd.place,
        cmd.capacity,
        cmd.starts_at,
        cmd.ends_at,
        clock(),
        cmd.kiosk_ids,
    )
    scheduled.activity_id = attendance.plan(
        scheduled, f"培训：{course.title}", f"training/{scheduled.id}"
    )
    uow.sessions.add(scheduled)
    return scheduled


@idempotent(_reload)
def cancel_course_session(
    cmd: CancelCourseSession,
    uow: TrainingUnitOfWork,
    attendance: Attendance,
    caller: Sequence[tuple[str, str]],
    clock: Clock = utc_now,
) -> CourseSession:
    """Staff cancel a session; attendance closes its activity, asked as the same staff member.

    Attendance is asked first, with a request id from the session's: if it does not answer,
    nothing is stored, and a retry finds the activity closed or closes it.
    """
    access.require_staff(cmd.actor, cmd.community_id)
    found = session(uow, cmd.community_id, cmd.session_id)
    found.cancel(cmd.reason, clock())
    attendance.close(found, f"training/{found.id}/cancel", caller)
    uow.sessions.save(found)
    return found


@idempotent(_reload)
def record_session_taught(
    cmd: RecordSessionTaught, uow: TrainingUnitOfWork, clock: Clock = utc_now
) -> CourseSession:
    """Staff record a session as taught face to face."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = session(uow, cmd.community_id, cmd.session_id)
    found.record_taught(cmd.minutes, clock())
    uow.sessions.save(found)
    return found


def _roster_request(session: CourseSession, enrolment: Enrolment, change: str) -> str:
    """Attendance's request id for one roster change of one enrolment."""
    at = round(enrolment.enrolled_at.timestamp() * 1_000_000)
    return f"training/{session.id}/{enrolment.resident_id}/{at}/{change}"


@idempotent(_reload)
def enrol(
    cmd: Enrol, uow: TrainingUnitOfWork, attendance: Attendance, clock: Clock = utc_now
) -> CourseSession:
    """A resident (or staff for them) enrols, if the course's tier is open to them.

    A seat taken before the session ends puts the resident on its activity's roster in
    attendance, so its kiosks know their face; attendance not answering stores nothing.
    """
    access.require_self_or_staff(cmd.actor, cmd.community_id, cmd.resident_id)
    found = session(uow, cmd.community_id, cmd.session_id)
    course = catalogue.course(uow, cmd.community_id, found.course_id)
    trainee = uow.trainees.get(cmd.community_id, cmd.resident_id)
    courses = uow.courses.all(cmd.community_id)
    require_open(course, courses, trainee.completed, trainee.core_volunteer)
    now = clock()
    enrolment = found.enrol(cmd.resident_id, now, by_staff=cmd.actor.is_staff)
    if enrolment.state is EnrolmentState.ENROLLED and now < found.ends_at:
        attendance.put_on_roster(found, cmd.resident_id, _roster_request(found, enrolment, "on"))
    uow.sessions.save(found)
    return found


@idempotent(_reload)
def cancel_enrolment(
    cmd: CancelEnrolment, uow: TrainingUnitOfWork, attendance: Attendance, clock: Clock = utc_now
) -> CourseSession:
    """A resident (or staff for them) gives a seat up; the first one waiting takes it.

    The roster of the session's activity follows while the session has not ended.
    """
    access.require_self_or_staff(cmd.actor, cmd.community_id, cmd.resident_id)
    found = session(uow, cmd.community_id, cmd.session_id)
    given_up, seated = found.cancel_enrolment(cmd.resident_id)
    if clock() < found.ends_at:
        if given_up.state is EnrolmentState.ENROLLED:
            attendance.take_off_roster(
                found, cmd.resident_id, _roster_request(found, given_up, "off")
            )
        if seated is not None:
            attendance.put_on_roster(
                found, seated.resident_id, _roster_request(found, seated, "seated")
            )
    uow.sessions.save(found)
    return found


def get_course_session(
    actor: Principal, community_id: str, session_id: str, uow: TrainingUnitOfWork
) -> CourseSession:
    """A session of the caller's community (the API shows a resident only their enrolment)."""
    require_community(actor, community_id)
    with uow:
        return session(uow, community_id, session_id)


def list_course_sessions(
    actor: Principal, community_id: str, offset: int, limit: int, uow: TrainingUnitOfWork
) -> tuple[list[CourseSession], bool]:
    """A page of the community's sessions by start time; and whether more follow."""
    require_community(actor, community_id)
    with uow:
        found = uow.sessions.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def get_teaching_report(
    actor: Principal,
    community_id: str,
    year: int,
    target_hours: int,
    uow: TrainingUnitOfWork,
    clock: Clock = utc_now,
) -> TeachingReport:
    """The face-to-face teaching of a year (0: this year) against the target, for staff."""
    access.require_staff(actor, community_id)
    year = report_year(year, clock())
    since, until = year_bounds(year)
    with uow:
        taught = uow.sessions.taught(community_id, since, until)
        teachers = {
            t.id: t
            for t in (uow.teachers.get(community_id, i) for i in {s.teacher_id for s in taught})
            if t is not None
        }
    return teaching_report(year, target_hours, taught, teachers)
