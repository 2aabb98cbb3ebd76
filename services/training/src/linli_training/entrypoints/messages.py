"""Protobuf messages of the training API from domain objects, and the enums both ways."""

from __future__ import annotations

from typing import Any

from linli.training.v1 import assessment_service_pb2 as assessment_pb
from linli.training.v1 import training_service_pb2 as pb

from linli_kit.errors import InvalidArgument
from linli_kit.wire import timestamp
from linli_training.domain.assessments import Assessment
from linli_training.domain.courses import Course, Tier
from linli_training.domain.instruments import Instrument
from linli_training.domain.names import (
    ACTIVITY,
    ALLOWANCE,
    ASSESSMENT,
    COURSE,
    COURSE_SESSION,
    INSTRUMENT,
    KIOSK,
    LEVEL,
    PROGRESS,
    RESIDENT,
    TEACHER,
)
from linli_training.domain.progress import Allowance, Level
from linli_training.domain.sessions import (
    CourseSession,
    EnrolmentState,
    Teacher,
    TeacherKind,
    TeachingReport,
)
from linli_training.service_layer.progress import ProgressView

TIERS = {pb.Tier.Value(f"TIER_{t.name}"): t for t in Tier}
TIER_CODES = {t: code for code, t in TIERS.items()}
TEACHER_KINDS = {pb.TeacherKind.Value(f"TEACHER_KIND_{k.name}"): k for k in TeacherKind}
TEACHER_KIND_CODES = {k: code for code, k in TEACHER_KINDS.items()}
ENROLMENT_STATES = {s: pb.EnrolmentState.Value(f"ENROLMENT_STATE_{s.name}") for s in EnrolmentState}


def enum(table: dict[int, Any], value: int, field: str) -> Any:
    """The domain value of an enum code, or InvalidArgument naming the field."""
    if value not in table:
        raise InvalidArgument(f"{field} must be set to one of its values")
    return table[value]


def resident_name(community_id: str, resident_id: str) -> str:
    """A resident's name, or '' for none."""
    return RESIDENT.format(community=community_id, resident=resident_id) if resident_id else ""


def course_message(course: Course) -> pb.Course:
    """The API's view of a course."""
    return pb.Course(
        name=COURSE.format(community=course.community_id, course=course.id),
        title=course.title,
        tier=TIER_CODES[course.tier],
        hours=course.hours,
        completion_percent=course.completion_percent,
        description=course.description,
        core_volunteers_only=course.tier.core_volunteers_only,
        minutes=course.minutes,
        credits=course.credits,
    )


def teacher_message(teacher: Teacher) -> pb.Teacher:
    """The API's view of a teacher."""
    community = teacher.community_id
    return pb.Teacher(
        name=TEACHER.format(community=community, teacher=teacher.id),
        display_name=teacher.display_name,
        kind=TEACHER_KIND_CODES[teacher.kind],
        organisation=teacher.organisation,
        qualified_courses=[
            COURSE.format(community=community, course=c) for c in teacher.qualified_courses
        ],
        certificates=list(teacher.certificates),
    )


def session_message(session: CourseSession) -> pb.CourseSession:
    """The API's view of a course session (with the enrolments it holds)."""
    community = session.community_id
    return pb.CourseSession(
        name=COURSE_SESSION.format(community=community, session=session.id),
        course=COURSE.format(community=community, course=session.course_id),
        teacher=TEACHER.format(community=community, teacher=session.teacher_id),
        place=session.place,
        capacity=session.capacity,
        start_time=timestamp(session.starts_at),
        end_time=timestamp(session.ends_at),
        kiosks=[KIOSK.format(community=community, kiosk=k) for k in session.kiosk_ids],
        activity=ACTIVITY.format(community=community, activity=session.activity_id),
        taught=session.taught_minutes is not None,
        taught_minutes=session.taught_minutes or 0,
        enrolments=[
            pb.Enrolment(
                resident=resident_name(community, e.resident_id),
                state=ENROLMENT_STATES[e.state],
                enrol_time=timestamp(e.enrolled_at),
            )
            for e in session.enrolments
        ],
        enrolled=session.enrolled,
        waiting=session.waiting,
        cancelled=session.cancelled_at is not None,
        cancel_time=timestamp(session.cancelled_at),
        cancel_reason=session.cancel_reason,
    )


def report_message(community_id: str, report: TeachingReport) -> pb.GetTeachingReportResponse:
    """The API's view of a teaching report."""
    return pb.GetTeachingReportResponse(
        year=report.year,
        target_minutes=report.target_minutes,
        taught_minutes=report.taught_minutes,
        shortfall_minutes=report.shortfall_minutes,
        teachers=[
            pb.TeacherHours(
                teacher=TEACHER.format(community=community_id, teacher=t.teacher_id),
                display_name=t.display_name,
                taught_minutes=t.minutes,
                sessions=t.sessions,
            )
            for t in report.teachers
        ],
    )


def level_message(level: Level) -> pb.Level:
    """The API's view of a level."""
    return pb.Level(
        name=LEVEL.format(community=level.community_id, level=level.id),
        title=level.title,
        credits_needed=level.credits_needed,
        tiers_completed=[TIER_CODES[t] for t in level.tiers],
        allowance_fen=level.allowance_fen,
    )


def progress_message(view: ProgressView) -> pb.Progress:
    """The API's view of a resident's training."""
    trainee, community = view.trainee, view.trainee.community_id
    courses = []
    for course in view.courses:
        done = trainee.completions.get(course.id)
        courses.append(
            pb.CourseProgress(
                course=COURSE.format(community=community, course=course.id),
                tier=TIER_CODES[course.tier],
                attended_seconds=trainee.attended.get(course.id, 0),
                required_seconds=course.required_seconds,
                completed=done is not None,
                credits=0 if done is None else done.credits,
                complete_time=None if done is None else timestamp(done.completed_at),
            )
        )
    level = view.level
    return pb.Progress(
        name=PROGRESS.format(community=community, resident=trainee.resident_id),
        courses=courses,
        credits=trainee.credits,
        level="" if level is None else LEVEL.format(community=community, level=level.id),
        level_title="" if level is None else level.title,
        core_volunteer=trainee.core_volunteer,
    )


def allowance_message(allowance: Allowance) -> pb.Allowance:
    """The API's view of an allowance entitlement."""
    community = allowance.community_id
    return pb.Allowance(
        name=ALLOWANCE.format(community=community, allowance=allowance.id),
        resident=resident_name(community, allowance.resident_id),
        level=LEVEL.format(community=community, level=allowance.level_id),
        level_title=allowance.level_title,
        amount_fen=allowance.amount_fen,
        entitle_time=timestamp(allowance.entitled_at),
        paid=allowance.paid,
        paid_by=resident_name(community, allowance.paid_by),
        pay_time=timestamp(allowance.paid_at),
    )


def instrument_message(tool: Instrument) -> assessment_pb.Instrument:
    """The API's view of an instrument."""
    return assessment_pb.Instrument(
        name=INSTRUMENT.format(instrument=tool.id),
        title_zh=tool.title_zh,
        title_en=tool.title_en,
        lowest=tool.lowest,
        highest=tool.highest,
        labels_zh=list(tool.labels_zh),
        labels_en=list(tool.labels_en),
        items=[
            assessment_pb.InstrumentItem(
                number=i.number,
                text_zh=i.text_zh,
                text_en=i.text_en,
                reverse_scored=i.reverse_scored,
            )
            for i in tool.items
        ],
        scoring=tool.scoring,
        source=tool.source,
    )


def assessment_message(assessment: Assessment) -> assessment_pb.Assessment:
    """The API's view of an assessment result or decline."""
    community = assessment.community_id
    return assessment_pb.Assessment(
        name=ASSESSMENT.format(
            community=community, resident=assessment.resident_id, assessment=assessment.id
        ),
        instrument=INSTRUMENT.format(instrument=assessment.instrument_id)
        if assessment.instrument_id
        else "",
        year=assessment.year,
        declined=assessment.declined,
        answers=list(assessment.answers),
        score_hundredths=assessment.score,
        band=assessment.band,
        advice_zh=assessment.advice_zh,
        advice_en=assessment.advice_en,
        create_time=timestamp(assessment.created_at),
        recorded_by=resident_name(community, assessment.recorded_by),
    )
