"""The TrainingService servicer: map the request, call the use case, map the result.

POLICY admits callers per RPC (deny by default); the use cases apply `domain.access` to the
caller passed as the command's actor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from linli.training.v1 import training_service_pb2 as pb
from linli.training.v1 import training_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.domain import Clock, utc_now
from linli_kit.names import decode_page_token, next_page_token, page_size, same_community
from linli_kit.principals import STAFF_ROLES, current_principal
from linli_kit.ratelimits import Limits, per_minute
from linli_kit.servicers import UseCaseServicer
from linli_kit.wire import required_time
from linli_training.domain.courses import DEFAULT_COMPLETION_PERCENT
from linli_training.domain.names import (
    ALLOWANCE,
    COMMUNITY,
    COURSE,
    COURSE_SESSION,
    KIOSK,
    PROGRESS,
    RESIDENT,
    TEACHER,
)
from linli_training.entrypoints.messages import (
    TEACHER_KINDS,
    TIERS,
    allowance_message,
    course_message,
    enum,
    level_message,
    progress_message,
    report_message,
    session_message,
    teacher_message,
)
from linli_training.service_layer import catalogue, commands, progress, sessions
from linli_training.service_layer.ports import Attendance, TrainingUnitOfWork

Context: TypeAlias = grpc.aio.ServicerContext

STAFF = auth.persons(*STAFF_ROLES)
POLICY: auth.Policy = {
    "CreateCourse": STAFF,
    "CreateDefaultCourses": STAFF,
    "GetCourse": auth.persons(),
    "ListCourses": auth.persons(),
    "CreateTeacher": STAFF,
    "ListTeachers": STAFF,
    "ScheduleCourseSession": STAFF,
    "GetCourseSession": auth.persons(),
    "ListCourseSessions": auth.persons(),
    "CancelCourseSession": STAFF,
    "RecordSessionTaught": STAFF,
    # A resident for themself, staff for anyone.
    "Enrol": auth.persons(),
    "CancelEnrolment": auth.persons(),
    "GetTeachingReport": STAFF,
    "GetProgress": auth.persons(),
    "CreateLevel": STAFF,
    "CreateDefaultLevels": STAFF,
    "ListLevels": auth.persons(),
    "ListAllowances": auth.persons(),
    "MarkAllowancePaid": STAFF,
}
# Scheduling and cancelling ask attendance; a resident enrols in a few sessions a month.
LIMITS: Limits = {
    "ScheduleCourseSession": per_minute(60, burst=20),
    "CancelCourseSession": per_minute(60, burst=20),
    "Enrol": per_minute(30, burst=10),
    "CancelEnrolment": per_minute(30, burst=10),
}


class TrainingServicer(UseCaseServicer, pb_grpc.TrainingServiceServicer):
    """Courses, teachers, sessions, enrolment, progress, levels and allowances over gRPC."""

    def __init__(
        self,
        uow_factory: Callable[[], TrainingUnitOfWork],
        attendance: Attendance,
        target_hours: int,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.attendance, self.clock = uow_factory, attendance, clock
        self.target_hours = target_hours

    @staticmethod
    def _community(parent: str) -> str:
        return COMMUNITY.parse(parent, "parent")["community"]

    def _seen(self, session: Any) -> pb.CourseSession:
        """A session as the caller may see it: every enrolment for staff, else their own."""
        caller = current_principal()
        return session_message(session.as_seen_by(None if caller.is_staff else caller.resident_id))

    async def CreateCourse(
        self, request: pb.CreateCourseRequest, context: Context
    ) -> pb.CreateCourseResponse:
        """Add a course."""
        given = request.course
        command = commands.CreateCourse(
            community_id=self._community(request.parent),
            course_id=request.course_id,
            title=given.title,
            tier=enum(TIERS, given.tier, "course.tier"),
            minutes=given.minutes or given.hours * 60,
            completion_percent=given.completion_percent or DEFAULT_COMPLETION_PERCENT,
            description=given.description,
            credits=given.credits,
            request_id=request.request_id,
            actor=current_principal(),
        )
        added = await self._run(catalogue.create_course, command, clock=self.clock)
        return pb.CreateCourseResponse(course=course_message(added))

    async def CreateDefaultCourses(
        self, request: pb.CreateDefaultCoursesRequest, context: Context
    ) -> pb.CreateDefaultCoursesResponse:
        """Add the policy's courses the community lacks."""
        command = commands.CreateDefaultCourses(
            self._community(request.parent), request.request_id, actor=current_principal()
        )
        added = await self._run(catalogue.create_default_courses, command, clock=self.clock)
        return pb.CreateDefaultCoursesResponse(courses=[course_message(c) for c in added])

    async def GetCourse(
        self, request: pb.GetCourseRequest, context: Context
    ) -> pb.GetCourseResponse:
        """A course by name."""
        ids = COURSE.parse(request.name)
        found = await self._query(catalogue.get_course, ids["community"], ids["course"])
        return pb.GetCourseResponse(course=course_message(found))

    async def ListCourses(
        self, request: pb.ListCoursesRequest, context: Context
    ) -> pb.ListCoursesResponse:
        """A page of the community's courses."""
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(
            catalogue.list_courses, self._community(request.parent), offset, limit
        )
        return pb.ListCoursesResponse(
            courses=[course_message(c) for c in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CreateTeacher(
        self, request: pb.CreateTeacherRequest, context: Context
    ) -> pb.CreateTeacherResponse:
        """Add a teacher to the pool."""
        community = self._community(request.parent)
        given = request.teacher
        qualified = [COURSE.parse(c, "teacher.qualified_courses") for c in given.qualified_courses]
        command = commands.CreateTeacher(
            community_id=same_community(community, *(q["community"] for q in qualified)),
            display_name=given.display_name,
            kind=enum(TEACHER_KINDS, given.kind, "teacher.kind"),
            organisation=given.organisation,
            qualified_courses=tuple(q["course"] for q in qualified),
            certificates=tuple(given.certificates),
            request_id=request.request_id,
            actor=current_principal(),
        )
        added = await self._run(catalogue.create_teacher, command, clock=self.clock)
        return pb.CreateTeacherResponse(teacher=teacher_message(added))

    async def ListTeachers(
        self, request: pb.ListTeachersRequest, context: Context
    ) -> pb.ListTeachersResponse:
        """A page of the teacher pool."""
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(
            catalogue.list_teachers, self._community(request.parent), offset, limit
        )
        return pb.ListTeachersResponse(
            teachers=[teacher_message(t) for t in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def ScheduleCourseSession(
        self, request: pb.ScheduleCourseSessionRequest, context: Context
    ) -> pb.ScheduleCourseSessionResponse:
        """Schedule a session of a course."""
        community = self._community(request.parent)
        given = request.session
        course = COURSE.parse(given.course, "session.course")
        teacher = TEACHER.parse(given.teacher, "session.teacher")
        kiosks = [KIOSK.parse(k, "session.kiosks") for k in given.kiosks]
        command = commands.ScheduleCourseSession(
            community_id=same_community(
                community,
                course["community"],
                teacher["community"],
                *(k["community"] for k in kiosks),
            ),
            course_id=course["course"],
            teacher_id=teacher["teacher"],
            place=given.place,
            capacity=given.capacity,
            starts_at=required_time(given, "start_time"),
            ends_at=required_time(given, "end_time"),
            kiosk_ids=tuple(k["kiosk"] for k in kiosks),
            request_id=request.request_id,
            actor=current_principal(),
        )
        scheduled = await self._run(
            sessions.schedule_course_session, command, self.attendance, clock=self.clock
        )
        return pb.ScheduleCourseSessionResponse(session=self._seen(scheduled))

    async def GetCourseSession(
        self, request: pb.GetCourseSessionRequest, context: Context
    ) -> pb.GetCourseSessionResponse:
        """A session as the caller may see it."""
        ids = COURSE_SESSION.parse(request.name)
        found = await self._query(sessions.get_course_session, ids["community"], ids["session"])
        return pb.GetCourseSessionResponse(session=self._seen(found))

    async def ListCourseSessions(
        self, request: pb.ListCourseSessionsRequest, context: Context
    ) -> pb.ListCourseSessionsResponse:
        """A page of the community's sessions by start time."""
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(
            sessions.list_course_sessions, self._community(request.parent), offset, limit
        )
        return pb.ListCourseSessionsResponse(
            sessions=[self._seen(s) for s in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def CancelCourseSession(
        self, request: pb.CancelCourseSessionRequest, context: Context
    ) -> pb.CancelCourseSessionResponse:
        """Cancel a session; attendance closes its activity, asked as the caller."""
        ids = COURSE_SESSION.parse(request.name)
        command = commands.CancelCourseSession(
            community_id=ids["community"],
            session_id=ids["session"],
            reason=request.reason,
            request_id=request.request_id,
            actor=current_principal(),
        )
        caller = [
            (key, value)
            for key, value in context.invocation_metadata() or ()
            if key == "authorization" and isinstance(value, str)
        ]
        cancelled = await self._run(
            sessions.cancel_course_session, command, self.attendance, caller, clock=self.clock
        )
        return pb.CancelCourseSessionResponse(session=self._seen(cancelled))

    async def RecordSessionTaught(
        self, request: pb.RecordSessionTaughtRequest, context: Context
    ) -> pb.RecordSessionTaughtResponse:
        """Record a session as taught face to face."""
        ids = COURSE_SESSION.parse(request.name)
        command = commands.RecordSessionTaught(
            community_id=ids["community"],
            session_id=ids["session"],
            minutes=request.minutes,
            request_id=request.request_id,
            actor=current_principal(),
        )
        taught = await self._run(sessions.record_session_taught, command, clock=self.clock)
        return pb.RecordSessionTaughtResponse(session=self._seen(taught))

    def _enrolment(self, kind: type, request: Any) -> Any:
        ids = COURSE_SESSION.parse(request.session, "session")
        resident = RESIDENT.parse(request.resident, "resident")
        community = same_community(ids["community"], resident["community"])
        return kind(
            community,
            ids["session"],
            resident["resident"],
            request.request_id,
            actor=current_principal(),
        )

    async def Enrol(self, request: pb.EnrolRequest, context: Context) -> pb.EnrolResponse:
        """Enrol a resident (a seat, or a place in line)."""
        command = self._enrolment(commands.Enrol, request)
        found = await self._run(sessions.enrol, command, self.attendance, clock=self.clock)
        return pb.EnrolResponse(session=self._seen(found))

    async def CancelEnrolment(
        self, request: pb.CancelEnrolmentRequest, context: Context
    ) -> pb.CancelEnrolmentResponse:
        """Give a seat or a place in line up."""
        command = self._enrolment(commands.CancelEnrolment, request)
        found = await self._run(
            sessions.cancel_enrolment, command, self.attendance, clock=self.clock
        )
        return pb.CancelEnrolmentResponse(session=self._seen(found))

    async def GetTeachingReport(
        self, request: pb.GetTeachingReportRequest, context: Context
    ) -> pb.GetTeachingReportResponse:
        """The yearly face-to-face teaching against the target."""
        community = self._community(request.parent)
        report = await asyncio.to_thread(
            sessions.get_teaching_report,
            current_principal(),
            community,
            request.year,
            self.target_hours,
            self.uow_factory(),
            self.clock,
        )
        return report_message(community, report)

    async def GetProgress(
        self, request: pb.GetProgressRequest, context: Context
    ) -> pb.GetProgressResponse:
        """A resident's training."""
        ids = PROGRESS.parse(request.name)
        view = await self._query(progress.get_progress, ids["community"], ids["resident"])
        return pb.GetProgressResponse(progress=progress_message(view))

    async def CreateLevel(
        self, request: pb.CreateLevelRequest, context: Context
    ) -> pb.CreateLevelResponse:
        """Add a level to the table."""
        given = request.level
        command = commands.CreateLevel(
            community_id=self._community(request.parent),
            level_id=request.level_id,
            title=given.title,
            credits_needed=given.credits_needed,
            tiers=tuple(enum(TIERS, t, "level.tiers_completed") for t in given.tiers_completed),
            allowance_fen=given.allowance_fen,
            request_id=request.request_id,
            actor=current_principal(),
        )
        added = await self._run(catalogue.create_level, command)
        return pb.CreateLevelResponse(level=level_message(added))

    async def CreateDefaultLevels(
        self, request: pb.CreateDefaultLevelsRequest, context: Context
    ) -> pb.CreateDefaultLevelsResponse:
        """Add the shipped levels the table lacks."""
        command = commands.CreateDefaultLevels(
            self._community(request.parent), request.request_id, actor=current_principal()
        )
        added = await self._run(catalogue.create_default_levels, command)
        return pb.CreateDefaultLevelsResponse(levels=[level_message(lv) for lv in added])

    async def ListLevels(
        self, request: pb.ListLevelsRequest, context: Context
    ) -> pb.ListLevelsResponse:
        """The community's level table."""
        found = await self._query(catalogue.list_levels, self._community(request.parent))
        return pb.ListLevelsResponse(levels=[level_message(lv) for lv in found])

    async def ListAllowances(
        self, request: pb.ListAllowancesRequest, context: Context
    ) -> pb.ListAllowancesResponse:
        """A page of a resident's or the community's allowances."""
        if "/residents/" in request.parent:
            ids = RESIDENT.parse(request.parent, "parent")
            community, resident = ids["community"], ids["resident"]
        else:
            community, resident = self._community(request.parent), None
        offset, limit = decode_page_token(request.page_token), page_size(request.page_size)
        found, more = await self._query(
            progress.list_allowances, community, resident, request.unpaid_only, offset, limit
        )
        return pb.ListAllowancesResponse(
            allowances=[allowance_message(a) for a in found],
            next_page_token=next_page_token(offset, limit, more),
        )

    async def MarkAllowancePaid(
        self, request: pb.MarkAllowancePaidRequest, context: Context
    ) -> pb.MarkAllowancePaidResponse:
        """Record an allowance as paid."""
        ids = ALLOWANCE.parse(request.name)
        command = commands.MarkAllowancePaid(
            ids["community"], ids["allowance"], request.request_id, actor=current_principal()
        )
        paid = await self._run(progress.mark_allowance_paid, command, clock=self.clock)
        return pb.MarkAllowancePaidResponse(allowance=allowance_message(paid))
