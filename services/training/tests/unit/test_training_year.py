"""Courses, sessions, enrolment, credits and levels on SQLite, attendance faked (T1-T3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from linli.events.v1 import envelope_pb2, training_events_pb2

from linli_kit.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from linli_kit.testing import load_beside
from linli_training.adapters import orm
from linli_training.domain.courses import Tier
from linli_training.domain.sessions import EnrolmentState, TeacherKind
from linli_training.service_layer import catalogue, commands, progress, reports, sessions

fakes = load_beside(__file__, "fakes.py", "linli_training_unit_fakes")
C, STAFF, ALICE, BOB = fakes.C, fakes.STAFF, fakes.ALICE, fakes.BOB
HOUR = timedelta(hours=1)


def _published(uow_factory, kind: type) -> list:
    uow = uow_factory()
    with uow.session_factory() as db:
        rows = db.execute(
            sa.select(orm.runtime.outbox.c.envelope).order_by(orm.runtime.outbox.c.id)
        )
        found = []
        for row in rows.scalars():
            envelope = envelope_pb2.EventEnvelope.FromString(row)
            message = kind()
            if envelope.payload.Unpack(message):
                found.append(message)
        return found


@pytest.fixture
def catalogue_ready(uow_factory, clock):
    """The policy's courses and levels, and a teacher qualified for every course."""
    courses = catalogue.create_default_courses(
        commands.CreateDefaultCourses(C, "seed", actor=STAFF), uow_factory(), clock
    )
    catalogue.create_default_levels(
        commands.CreateDefaultLevels(C, "levels", actor=STAFF), uow_factory()
    )
    teacher = catalogue.create_teacher(
        commands.CreateTeacher(
            community_id=C,
            display_name="陈老师",
            kind=TeacherKind.RED_CROSS_TRAINER,
            qualified_courses=tuple(c.id for c in courses),
            actor=STAFF,
        ),
        uow_factory(),
        clock,
    )
    return {c.id: c for c in courses}, teacher


def _session(
    uow_factory, attendance, clock, teacher, course_id: str, hours: int, capacity=30, rid=""
):
    start = clock.now + timedelta(days=1)
    return sessions.schedule_course_session(
        commands.ScheduleCourseSession(
            community_id=C,
            course_id=course_id,
            teacher_id=teacher.id,
            place="社区活动中心",
            capacity=capacity,
            starts_at=start,
            ends_at=start + hours * HOUR,
            request_id=rid or f"s-{course_id}",
            actor=STAFF,
        ),
        uow_factory(),
        attendance,
        clock,
    )


def _enrol(uow_factory, clock, session, actor=ALICE, resident="r-alice", attendance=None):
    return sessions.enrol(
        commands.Enrol(C, session.id, resident, actor=actor),
        uow_factory(),
        attendance or fakes.FakeAttendance(),
        clock,
    )


def _attend(
    uow_factory, session, seconds: int, event_id: str, resident="r-alice", attendance_session=""
):
    return progress.credit_attendance(
        commands.CreditAttendance(
            event_id=event_id,
            community_id=C,
            activity_id=session.activity_id,
            session=attendance_session
            or f"communities/{C}/activities/{session.activity_id}/sessions/{event_id}",
            resident_id=resident,
            training=True,
            duration_seconds=seconds,
            occurred_at=session.ends_at,
        ),
        uow_factory(),
    )


def _progress(uow_factory, resident="r-alice"):
    return progress.get_progress(STAFF, C, resident, uow_factory())


def test_the_default_courses_are_the_policys_hours_by_tier(catalogue_ready) -> None:
    courses, _ = catalogue_ready
    hours = {(c.tier, c.id): c.hours for c in courses.values()}
    assert hours == {
        (Tier.BEGINNER, "volunteering-ideas"): 4,
        (Tier.BEGINNER, "safety"): 2,
        (Tier.BEGINNER, "communication"): 3,
        (Tier.INTERMEDIATE, "first-aid"): 8,
        (Tier.INTERMEDIATE, "mediation"): 6,
        (Tier.INTERMEDIATE, "event-planning"): 5,
        (Tier.ADVANCED, "project-management"): 12,
        (Tier.ADVANCED, "resource-integration"): 10,
    }


def test_a_volunteers_beginner_year_earns_credits_a_level_and_an_allowance(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    for course_id, hours in (("volunteering-ideas", 4), ("safety", 2), ("communication", 3)):
        held = _session(uow_factory, attendance, clock, teacher, course_id, hours)
        _enrol(uow_factory, clock, held)
        credit = _attend(uow_factory, held, hours * 3600, f"e-{course_id}")
        assert credit.outcome == progress.CREDITED

    view = _progress(uow_factory)
    assert (view.trainee.credits, view.level.id) == (9, "one-star")
    assert credit.promoted == ("one-star",) and credit.completed == ("communication",)
    attended = _published(uow_factory, training_events_pb2.TrainingAttended)
    assert [a.duration_seconds for a in attended] == [4 * 3600, 2 * 3600, 3 * 3600]
    completed = _published(uow_factory, training_events_pb2.CourseCompleted)
    assert [(c.credits, c.total_credits) for c in completed] == [(4, 4), (2, 6), (3, 9)]
    (promoted,) = _published(uow_factory, training_events_pb2.LevelPromoted)
    assert (promoted.level_title, promoted.allowance_fen) == ("一星志愿者", 5000)
    (allowance,), _ = progress.list_allowances(STAFF, C, None, True, 0, 10, uow_factory())
    assert promoted.allowance.endswith(allowance.id) and not allowance.paid

    paid = progress.mark_allowance_paid(
        commands.MarkAllowancePaid(C, allowance.id, "pay", actor=STAFF), uow_factory(), clock
    )
    assert (paid.paid, paid.paid_by) == (True, "r-staff")
    with pytest.raises(FailedPrecondition, match="already paid"):
        progress.mark_allowance_paid(
            commands.MarkAllowancePaid(C, allowance.id, "pay-again", actor=STAFF),
            uow_factory(),
            clock,
        )


def test_a_course_completes_at_its_share_of_the_hours_and_only_once(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    first, second = (
        _session(uow_factory, attendance, clock, teacher, "safety", 1, rid=f"half-{n}")
        for n in (1, 2)
    )
    for held in (first, second):
        _enrol(uow_factory, clock, held)

    _attend(uow_factory, first, 3600, "e1")
    assert not _progress(uow_factory).trainee.completions  # 1 h of 2: not yet
    _attend(uow_factory, second, 3600 - 12 * 60, "e2")  # 1 h 48 m of 2 h = 90 %
    view = _progress(uow_factory)

    assert view.trainee.attended["safety"] == 2 * 3600 - 12 * 60
    assert view.trainee.completions["safety"].credits == 2
    assert len(_published(uow_factory, training_events_pb2.CourseCompleted)) == 1


def test_a_redelivered_event_and_a_repeated_session_change_nothing(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = _session(uow_factory, attendance, clock, teacher, "volunteering-ideas", 4)
    _enrol(uow_factory, clock, held)
    name = f"communities/{C}/activities/{held.activity_id}/sessions/s1"

    assert _attend(uow_factory, held, 4 * 3600, "e1", attendance_session=name).outcome == "credited"
    again = _attend(uow_factory, held, 4 * 3600, "e1", attendance_session=name)
    other_event = _attend(uow_factory, held, 4 * 3600, "e2", attendance_session=name)

    assert again is None  # the inbox: the same event id
    assert other_event.outcome == progress.ALREADY  # the same attendance session
    assert _progress(uow_factory).trainee.attended == {"volunteering-ideas": 4 * 3600}
    assert len(_published(uow_factory, training_events_pb2.TrainingAttended)) == 1


def test_only_enrolled_residents_at_a_training_activity_are_credited(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = _session(uow_factory, attendance, clock, teacher, "safety", 2)
    _enrol(uow_factory, clock, held)

    walk_in = _attend(uow_factory, held, 7200, "e-bob", resident="r-bob")
    unknown = progress.credit_attendance(
        commands.CreditAttendance(
            event_id="e-other",
            community_id=C,
            activity_id="a-cleaning",
            session="s",
            resident_id="r-alice",
            training=False,
            duration_seconds=7200,
            occurred_at=clock.now,
        ),
        uow_factory(),
    )

    assert (walk_in.outcome, unknown.outcome) == (progress.NOT_ENROLLED, progress.NOT_TRAINING)
    assert _published(uow_factory, training_events_pb2.TrainingAttended) == []


def test_the_intermediate_tier_waits_for_every_beginner_course(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    first_aid = _session(uow_factory, attendance, clock, teacher, "first-aid", 8)
    with pytest.raises(FailedPrecondition, match="beginner courses completed first"):
        _enrol(uow_factory, clock, first_aid)

    for course_id, hours in (("volunteering-ideas", 4), ("safety", 2), ("communication", 3)):
        held = _session(uow_factory, attendance, clock, teacher, course_id, hours)
        _enrol(uow_factory, clock, held)
        _attend(uow_factory, held, hours * 3600, f"e-{course_id}")

    assert _enrol(uow_factory, clock, first_aid).is_enrolled("r-alice")


def test_the_advanced_tier_is_for_core_volunteers_as_identity_says(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    catalogue.create_course(
        commands.CreateCourse(
            community_id=C,
            course_id="leading",
            title="带队",
            tier=Tier.ADVANCED,
            minutes=120,
            actor=STAFF,
        ),
        uow_factory(),
        clock,
    )
    # A community offering no lower tiers: only the core-volunteer rule stands in the way.
    uow = uow_factory()
    with uow.session_factory() as db, db.begin():
        db.execute(sa.delete(orm.courses).where(orm.courses.c.tier != "advanced"))
    advanced = _session(uow_factory, attendance, clock, teacher, "project-management", 4)
    core_token = fakes.person("r-alice", "core_volunteer")  # the caller's say-so counts for nothing

    with pytest.raises(FailedPrecondition, match="core volunteers only"):
        _enrol(uow_factory, clock, advanced, actor=core_token)
    progress.change_core_volunteer(
        commands.ChangeCoreVolunteer(
            event_id="g1", community_id=C, resident_id="r-alice", core=True
        ),
        uow_factory(),
    )
    assert _enrol(uow_factory, clock, advanced).is_enrolled("r-alice")
    progress.change_core_volunteer(
        commands.ChangeCoreVolunteer(
            event_id="r1", community_id=C, resident_id="r-alice", core=False
        ),
        uow_factory(),
    )
    again = _session(uow_factory, attendance, clock, teacher, "project-management", 4, rid="again")
    with pytest.raises(FailedPrecondition, match="core volunteers only"):
        _enrol(uow_factory, clock, again)


def test_a_full_session_keeps_a_waiting_list_and_a_freed_seat_goes_to_the_first(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = _session(uow_factory, attendance, clock, teacher, "safety", 2, capacity=1)
    _enrol(uow_factory, clock, held, attendance=attendance)
    clock.now += timedelta(minutes=1)
    waiting = _enrol(uow_factory, clock, held, actor=STAFF, resident="r-bob", attendance=attendance)

    assert [(e.resident_id, e.state) for e in waiting.enrolments] == [
        ("r-alice", EnrolmentState.ENROLLED),
        ("r-bob", EnrolmentState.WAITING),
    ]
    assert attendance.rosters == {held.activity_id: ["r-alice"]}  # seats only: kiosks know them
    freed = sessions.cancel_enrolment(
        commands.CancelEnrolment(C, held.id, "r-alice", actor=ALICE),
        uow_factory(),
        attendance,
        clock,
    )
    assert freed.is_enrolled("r-bob") and not freed.is_enrolled("r-alice")
    assert attendance.rosters == {held.activity_id: ["r-bob"]}
    with pytest.raises(PermissionDenied):
        sessions.cancel_enrolment(
            commands.CancelEnrolment(C, held.id, "r-bob", actor=ALICE),
            uow_factory(),
            attendance,
            clock,
        )
    attendance.down = True  # the roster cannot follow: nothing is stored
    with pytest.raises(Unavailable):
        sessions.cancel_enrolment(
            commands.CancelEnrolment(C, held.id, "r-bob", actor=STAFF),
            uow_factory(),
            attendance,
            clock,
        )
    assert sessions.get_course_session(STAFF, C, held.id, uow_factory()).is_enrolled("r-bob")


def test_a_teacher_teaches_only_their_courses_and_attendance_down_stores_nothing(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    narrow = catalogue.create_teacher(
        commands.CreateTeacher(
            community_id=C,
            display_name="李咨询师",
            kind=TeacherKind.COUNSELLOR,
            qualified_courses=("communication",),
            actor=STAFF,
        ),
        uow_factory(),
        clock,
    )
    with pytest.raises(FailedPrecondition, match="not qualified"):
        _session(uow_factory, attendance, clock, narrow, "first-aid", 2)
    attendance.down = True
    with pytest.raises(Unavailable):
        _session(uow_factory, attendance, clock, teacher, "safety", 2, rid="retry-me")
    attendance.down = False
    retried = _session(uow_factory, attendance, clock, teacher, "safety", 2, rid="retry-me")
    again = _session(uow_factory, attendance, clock, teacher, "safety", 2, rid="retry-me")

    assert again.id == retried.id and list(attendance.planned) == [f"training/{retried.id}"]


def test_the_teaching_report_shows_the_shortfall_until_forty_hours_are_taught(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = [
        _session(uow_factory, attendance, clock, teacher, "first-aid", 8, rid=f"fa-{n}")
        for n in range(5)
    ]
    clock.now += timedelta(days=2)

    def shortfall() -> int:
        return sessions.get_teaching_report(STAFF, C, 0, 40, uow_factory(), clock).shortfall_minutes

    assert shortfall() == 40 * 60
    for n, session in enumerate(held):
        sessions.record_session_taught(
            commands.RecordSessionTaught(
                community_id=C, session_id=session.id, request_id=f"t{n}", actor=STAFF
            ),
            uow_factory(),
            clock,
        )
        assert shortfall() == (4 - n) * 8 * 60
    report = sessions.get_teaching_report(STAFF, C, 2026, 40, uow_factory(), clock)
    assert [(t.display_name, t.minutes, t.sessions) for t in report.teachers] == [
        ("陈老师", 2400, 5)
    ]
    with pytest.raises(PermissionDenied):
        sessions.get_teaching_report(ALICE, C, 0, 40, uow_factory(), clock)
    with pytest.raises(InvalidArgument, match="2000 to 2199"):
        sessions.get_teaching_report(STAFF, C, 1, 40, uow_factory(), clock)
    with pytest.raises(NotFound):
        sessions.get_teaching_report(
            fakes.person("r-x", "social_worker", community="c-west"), C, 0, 40, uow_factory(), clock
        )


def test_the_gauges_tell_the_shortfall_and_the_allowances_overdue_for_a_month(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    for course_id, hours in (("volunteering-ideas", 4), ("safety", 2), ("communication", 3)):
        held = _session(uow_factory, attendance, clock, teacher, course_id, hours)
        _enrol(uow_factory, clock, held)
        _attend(uow_factory, held, hours * 3600, f"e-{course_id}")

    (fresh,) = reports.standings(uow_factory, 40, clock.now + timedelta(days=2))
    (late,) = reports.standings(uow_factory, 40, clock.now + timedelta(days=40))

    assert (fresh.community_id, fresh.target_minutes, fresh.shortfall_minutes) == (C, 2400, 2400)
    assert (fresh.overdue_allowances, late.overdue_allowances) == (0, 1)


def test_a_resident_enrols_until_the_start_and_staff_at_any_time(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = _session(uow_factory, attendance, clock, teacher, "safety", 2)
    clock.now = held.starts_at

    with pytest.raises(FailedPrecondition, match="ask the staff"):
        _enrol(uow_factory, clock, held)
    assert _enrol(uow_factory, clock, held, actor=STAFF).is_enrolled("r-alice")


def _correct(uow_factory, session, name: str, seconds: int, event_id: str, at, resident="r-alice"):
    return progress.correct_attendance(
        commands.CorrectAttendance(
            event_id=event_id,
            community_id=C,
            activity_id=session.activity_id,
            session=name,
            resident_id=resident,
            training=True,
            duration_seconds=seconds,
            corrected_at=at,
        ),
        uow_factory(),
    )


def test_a_correction_below_the_share_withdraws_the_credits_but_keeps_the_level(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = {}
    for course_id, hours in (("volunteering-ideas", 4), ("safety", 2), ("communication", 3)):
        held[course_id] = _session(uow_factory, attendance, clock, teacher, course_id, hours)
        _enrol(uow_factory, clock, held[course_id])
        _attend(uow_factory, held[course_id], hours * 3600, f"e-{course_id}")
    assert _progress(uow_factory).level.id == "one-star"
    safety = held["safety"]
    name = f"communities/{C}/activities/{safety.activity_id}/sessions/e-safety"
    at = safety.ends_at + HOUR

    voided = _correct(uow_factory, safety, name, 0, "k1", at)
    view = _progress(uow_factory)

    assert voided.outcome == progress.CORRECTED
    assert (view.trainee.attended["safety"], view.trainee.credits) == (0, 7)
    assert "safety" not in view.trainee.completions
    assert view.level.id == "one-star"  # no demotion; the credits shown are the corrected ones
    (withdrawn,) = _published(uow_factory, training_events_pb2.CourseCompletionWithdrawn)
    assert (withdrawn.credits, withdrawn.total_credits) == (2, 7)
    (told,) = _published(uow_factory, training_events_pb2.TrainingAttendanceCorrected)
    assert (told.previous_duration_seconds, told.duration_seconds) == (7200, 0)

    # Redelivered: nothing. An older correction arriving late: nothing.
    assert _correct(uow_factory, safety, name, 0, "k1", at) is None
    assert _correct(uow_factory, safety, name, 3600, "k0", at - HOUR).outcome == (
        progress.OUT_OF_DATE
    )
    # Corrected back up: completed again, and the level is not granted twice.
    again = _correct(uow_factory, safety, name, 7200, "k2", at + HOUR)
    view = _progress(uow_factory)
    assert (again.completed, again.promoted) == (("safety",), ())
    assert (view.trainee.credits, view.trainee.attended["safety"]) == (9, 7200)
    assert len(_published(uow_factory, training_events_pb2.LevelPromoted)) == 1
    (allowance,), _ = progress.list_allowances(STAFF, C, "r-alice", False, 0, 10, uow_factory())
    assert allowance.level_id == "one-star"


def test_a_correction_of_a_session_never_credited_credits_it_once_and_a_late_completion_is_ignored(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = _session(uow_factory, attendance, clock, teacher, "safety", 2)
    _enrol(uow_factory, clock, held)
    name = f"communities/{C}/activities/{held.activity_id}/sessions/held-for-review"

    first = _correct(uow_factory, held, name, 7200, "k1", held.ends_at + HOUR)
    late = _attend(uow_factory, held, 3600, "e-late", attendance_session=name)
    walk_in = _correct(uow_factory, held, "other", 7200, "k2", held.ends_at, resident="r-bob")

    voided_first = _correct(uow_factory, held, "voided", 0, "k3", held.ends_at)
    voided_late = _attend(uow_factory, held, 3600, "e-voided", attendance_session="voided")

    assert (first.outcome, first.completed) == (progress.CREDITED, ("safety",))
    assert late.outcome == progress.ALREADY
    assert (voided_first.outcome, voided_late.outcome) == (progress.CORRECTED, progress.ALREADY)
    assert walk_in.outcome == progress.NOT_ENROLLED
    assert [
        a.duration_seconds for a in _published(uow_factory, training_events_pb2.TrainingAttended)
    ] == [7200]
    assert _progress(uow_factory).trainee.attended == {"safety": 7200}


def test_a_cancelled_session_closes_its_activity_as_the_staff_releases_all_and_stops_enrolment(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    held = _session(uow_factory, attendance, clock, teacher, "safety", 2, capacity=1)
    _enrol(uow_factory, clock, held)
    _enrol(uow_factory, clock, held, actor=STAFF, resident="r-bob")
    as_staff = (("authorization", "Bearer staff-token"),)

    def cancel(rid: str, reason: str = "老师生病", actor=STAFF):
        return sessions.cancel_course_session(
            commands.CancelCourseSession(
                community_id=C, session_id=held.id, reason=reason, request_id=rid, actor=actor
            ),
            uow_factory(),
            attendance,
            as_staff,
            clock,
        )

    with pytest.raises(PermissionDenied):
        cancel("by-alice", actor=ALICE)
    with pytest.raises(InvalidArgument, match="reason"):
        cancel("no-reason", reason=" ")
    attendance.down = True
    with pytest.raises(Unavailable):
        cancel("c1")
    assert (
        attendance.closed == {}
        and _published(uow_factory, training_events_pb2.CourseSessionCancelled) == []
    )
    attendance.down = False
    cancelled = cancel("c1")
    assert cancel("c1").cancelled_at == cancelled.cancelled_at  # a retry is answered the same

    assert attendance.closed == {held.activity_id: as_staff}
    (told,) = _published(uow_factory, training_events_pb2.CourseSessionCancelled)
    assert (list(told.released_enrolled), list(told.released_waiting)) == (
        [f"communities/{C}/residents/r-alice"],
        [f"communities/{C}/residents/r-bob"],
    )
    with pytest.raises(FailedPrecondition, match="cancelled"):
        cancel("c2")
    with pytest.raises(FailedPrecondition, match="cancelled"):
        _enrol(uow_factory, clock, held, actor=STAFF, resident="r-carol")
    with pytest.raises(FailedPrecondition, match="cancelled"):
        sessions.cancel_enrolment(
            commands.CancelEnrolment(C, held.id, "r-alice", actor=ALICE),
            uow_factory(),
            attendance,
            clock,
        )
    clock.now = held.ends_at
    with pytest.raises(FailedPrecondition, match="before it started"):
        sessions.record_session_taught(
            commands.RecordSessionTaught(community_id=C, session_id=held.id, actor=STAFF),
            uow_factory(),
            clock,
        )


def test_a_session_cancelled_midway_counts_the_minutes_it_ran_and_a_taught_one_cannot_be_cancelled(
    uow_factory, attendance, clock, catalogue_ready
) -> None:
    _, teacher = catalogue_ready
    cut = _session(uow_factory, attendance, clock, teacher, "volunteering-ideas", 8, rid="cut")
    taught = _session(uow_factory, attendance, clock, teacher, "first-aid", 8, rid="taught")
    _enrol(uow_factory, clock, cut, actor=STAFF)
    clock.now = taught.starts_at + 8 * HOUR
    sessions.record_session_taught(
        commands.RecordSessionTaught(community_id=C, session_id=taught.id, actor=STAFF),
        uow_factory(),
        clock,
    )
    with pytest.raises(FailedPrecondition, match="recorded as taught"):
        sessions.cancel_course_session(
            commands.CancelCourseSession(
                community_id=C, session_id=taught.id, reason="x", actor=STAFF
            ),
            uow_factory(),
            attendance,
            (),
            clock,
        )
    clock.now = cut.starts_at + 3 * HOUR
    sessions.cancel_course_session(
        commands.CancelCourseSession(community_id=C, session_id=cut.id, reason="停电", actor=STAFF),
        uow_factory(),
        attendance,
        (),
        clock,
    )
    # Time attended before the cancellation is still credited to the seat.
    assert _attend(uow_factory, cut, 3 * 3600, "e-cut").outcome == progress.CREDITED
    clock.now = cut.ends_at
    with pytest.raises(InvalidArgument, match="ran 180 minutes"):
        sessions.record_session_taught(
            commands.RecordSessionTaught(
                community_id=C, session_id=cut.id, minutes=200, request_id="t1", actor=STAFF
            ),
            uow_factory(),
            clock,
        )
    sessions.record_session_taught(
        commands.RecordSessionTaught(
            community_id=C, session_id=cut.id, request_id="t2", actor=STAFF
        ),
        uow_factory(),
        clock,
    )
    report = sessions.get_teaching_report(STAFF, C, 2026, 40, uow_factory(), clock)
    assert (report.taught_minutes, report.shortfall_minutes) == (8 * 60 + 180, 40 * 60 - 660)


def test_a_short_course_of_minutes_earns_one_credit_by_default(uow_factory, clock) -> None:
    def create(course_id: str, **given):
        return catalogue.create_course(
            commands.CreateCourse(
                community_id=C,
                course_id=course_id,
                title="自助签到机使用",
                tier=Tier.BEGINNER,
                actor=STAFF,
                **given,
            ),
            uow_factory(),
            clock,
        )

    short = create("kiosk-intro", minutes=2, completion_percent=25)
    assert (short.minutes, short.hours, short.credits, short.required_seconds) == (2, 0, 1, 30)
    assert create("long", minutes=150).credits == 2
    assert create("set", minutes=30, credits=3).credits == 3
    with pytest.raises(InvalidArgument, match="1 minute to 200 hours"):
        create("empty", minutes=0)


def test_a_level_table_holds_at_most_fifty_levels(uow_factory, catalogue_ready) -> None:
    def create(n: int) -> None:
        catalogue.create_level(
            commands.CreateLevel(
                community_id=C,
                level_id=f"extra-{n}",
                title=f"第{n}级",
                credits_needed=100 + n,
                actor=STAFF,
            ),
            uow_factory(),
        )

    shipped = len(catalogue.list_levels(STAFF, C, uow_factory()))
    for n in range(50 - shipped):
        create(n)
    with pytest.raises(FailedPrecondition, match="at most 50 levels"):
        create(50)
    assert len(catalogue.list_levels(STAFF, C, uow_factory())) == 50
