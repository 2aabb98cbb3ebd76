"""The A2 duration rules, A3 schedules and the anti-fraud checks of the domain, one by one."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linli_attendance.domain.activities import (
    CHECKLISTS,
    Activity,
    ActivityClosed,
    ActivityFull,
    EmergencyCalled,
    KioskNotBound,
    OutsideWindow,
    OverlappingSession,
    Proof,
    ScheduleKind,
    ServiceType,
    Session,
    SessionCompleted,
    SessionCorrected,
    SessionStatus,
    SignInMethod,
    WrongCheckInCode,
    check_presence,
    checklist_steps,
    counted_on_day,
)
from linli_attendance.domain.limits import POLICY_LIMITS, Limits
from linli_attendance.domain.review import (
    Attempt,
    FlagKind,
    SelfConfirmation,
    TooManySessions,
    TwoSitesAtOnce,
)
from linli_kit.errors import FailedPrecondition, InvalidArgument

START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Asia/Shanghai
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
STAFF = SignInMethod.STAFF_CONFIRMED


def presence_check(*args: Any, limits: Limits = POLICY_LIMITS) -> None:
    """check_presence for r-alice's attempt at START under the given limits."""
    attempt = Attempt("c-east", "r-alice", args[0].id, START)
    check_presence(*args, limits, attempt)


def plan(
    kind: ScheduleKind = ScheduleKind.ROUTINE,
    starts_at: datetime = START,
    hours: float = 2,
    place: str = "Block 3",
    **extra,
) -> Activity:
    """A regular-service activity in c-east planned the day before its first occurrence."""
    return Activity.plan(
        "c-east",
        "Clean-up",
        ServiceType.REGULAR,
        kind,
        starts_at,
        starts_at + hours * HOUR,
        extra.pop("at", START - 24 * HOUR),
        place=place,
        **extra,
    )


def session_at(activity: Activity, at: datetime, resident_id: str = "r-alice") -> Session:
    """A staff-confirmed session opened at `at`."""
    return activity.sign_in(resident_id, None, STAFF, "r-staff", at, at)


def served(activity: Activity, since: datetime, until: datetime, resident: str = "r-alice"):
    """A completed session from `since` to `until`."""
    session = session_at(activity, since, resident)
    session.sign_out(activity, until, until)
    return session


def test_a_routine_activity_recurs_weekly() -> None:
    activity = plan(occurrence_count=3)

    assert [w.starts_at for w in activity.occurrences()] == [
        START,
        START + timedelta(weeks=1),
        START + timedelta(weeks=2),
    ]


def test_a_periodic_activity_recurs_monthly_on_the_same_local_day_or_the_last() -> None:
    jan_31 = datetime(2025, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 local

    activity = plan(ScheduleKind.PERIODIC, starts_at=jan_31, occurrence_count=3)

    assert [w.starts_at.date().isoformat() for w in activity.occurrences()] == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-31",
    ]
    assert {w.ends_at - w.starts_at for w in activity.occurrences()} == {2 * HOUR}


def test_a_sign_in_belongs_to_the_occurrence_whose_window_holds_it() -> None:
    activity = plan(occurrence_count=2)
    week = timedelta(weeks=1)

    session = session_at(activity, START + week - 20 * MINUTE)
    session.sign_out(activity, START + week + 3 * HOUR, START + week + 3 * HOUR)

    assert session.window.starts_at == START + week
    assert session.duration_seconds == 2 * 3600


def test_a_sign_in_between_occurrences_is_refused_naming_the_next_window() -> None:
    activity = plan(occurrence_count=2)

    with pytest.raises(OutsideWindow, match="from 2025-03-10T01:30:00"):
        session_at(activity, START + 3 * HOUR)


@pytest.mark.parametrize(
    ("kind", "hours", "count", "message"),
    [
        (ScheduleKind.ROUTINE, 7 * 24, 2, "must not overlap"),
        (ScheduleKind.PERIODIC, 28 * 24, 2, "must not overlap"),
        (ScheduleKind.ROUTINE, 2, 105, "occurrence_count must be 1 to 104"),
        (ScheduleKind.ROUTINE, 2, 0, "occurrence_count"),
    ],
)
def test_schedules_that_cannot_work_are_refused(kind, hours, count, message) -> None:
    with pytest.raises(InvalidArgument, match=message):
        plan(kind, hours=hours, occurrence_count=count)


def test_an_emergency_opens_at_once_and_calls_its_org_units() -> None:
    now = START

    activity = plan(ScheduleKind.EMERGENCY, starts_at=now, at=now, org_units=("grid-3", "grid-4"))

    assert activity.events == [
        EmergencyCalled(
            community_id="c-east",
            occurred_at=now,
            activity_id=activity.id,
            title="Clean-up",
            org_units=("grid-3", "grid-4"),
            starts_at=now,
        )
    ]


def test_an_emergency_cannot_start_later_or_recur() -> None:
    with pytest.raises(InvalidArgument, match="at once"):
        plan(ScheduleKind.EMERGENCY, starts_at=START + HOUR, at=START)
    with pytest.raises(InvalidArgument, match="runs once"):
        plan(ScheduleKind.EMERGENCY, at=START, occurrence_count=2)


def test_an_emergency_without_org_units_calls_nobody() -> None:
    assert plan(ScheduleKind.EMERGENCY, at=START).events == []


def test_the_shipped_checklists() -> None:
    assert len(CHECKLISTS["cleaning"]) == 8
    assert CHECKLISTS["cleaning"][:3] == ("工具准备", "区域划分", "垃圾分类")
    assert CHECKLISTS["elder_care"] == ("一问", "二看", "三记录")


def test_checklist_completion_is_kept_in_the_checklist_order() -> None:
    activity = plan(checklist=CHECKLISTS["elder_care"])
    session = session_at(activity, START)

    session.record_checklist(activity, ["三记录"])
    session.record_checklist(activity, ["一问", "三记录"])

    assert session.checklist_done == ("一问", "三记录")
    with pytest.raises(InvalidArgument, match="not steps of this activity's checklist: 扫地"):
        session.record_checklist(activity, ["扫地"])


def test_a_place_has_at_most_200_characters() -> None:
    assert plan(place="x" * 200).place == "x" * 200
    with pytest.raises(InvalidArgument, match="place is longer than 200"):
        plan(place="x" * 201)


def test_checklist_steps_must_be_distinct() -> None:
    with pytest.raises(InvalidArgument, match="distinct"):
        plan(checklist=("一问", "一问"))


def test_a_kiosk_must_be_bound_to_the_activity() -> None:
    activity = plan(kiosk_ids=("k-gate",))

    with pytest.raises(KioskNotBound, match="k-side"):
        activity.sign_in("r-alice", None, SignInMethod.FACE, "", START, START, kiosk_id="k-side")
    assert activity.sign_in(
        "r-alice", None, SignInMethod.FACE, "", START, START, kiosk_id="k-gate"
    ).sign_in_proof == Proof(SignInMethod.FACE, "", "k-gate", None)


def test_a_full_occurrence_refuses_one_more() -> None:
    activity = plan(capacity=2)

    with pytest.raises(ActivityFull, match="already has 2 volunteers"):
        activity.sign_in("r-alice", None, STAFF, "r-staff", START, START, attendees=2)


def test_a_closed_activity_refuses_sign_ins() -> None:
    activity = plan()
    activity.close(START - HOUR)

    with pytest.raises(ActivityClosed):
        session_at(activity, START)
    with pytest.raises(ActivityClosed, match="already closed"):
        activity.close(START)


def test_the_check_in_code_must_match() -> None:
    activity = plan()

    activity.check_code(activity.check_in_code)
    with pytest.raises(WrongCheckInCode):
        activity.check_code("not-it")


def test_an_activity_planned_before_codes_accepts_no_code() -> None:
    activity = dataclasses.replace(plan(), check_in_code="")

    with pytest.raises(WrongCheckInCode):
        activity.check_code("")


def test_a_checklist_template_fills_in_when_no_steps_are_given() -> None:
    assert checklist_steps((), "cleaning") == CHECKLISTS["cleaning"]
    assert checklist_steps(("扫地",), "cleaning") == ("扫地",)
    assert checklist_steps(()) == ()
    with pytest.raises(InvalidArgument, match="one of cleaning, elder_care"):
        checklist_steps((), "gardening")


def test_durations_are_truncated_to_whole_seconds() -> None:
    activity = plan()
    session = session_at(activity, START)

    session.sign_out(activity, START + HOUR + timedelta(seconds=59.999), START + 2 * HOUR)

    assert session.duration_seconds == 3659


def test_the_daily_cap_cuts_the_session_and_says_so() -> None:
    activity = plan(hours=4)
    session = session_at(activity, START)

    concerns = session.sign_out(
        activity,
        START + 3 * HOUR,
        START + 3 * HOUR,
        counted_today=int((POLICY_LIMITS.time_cap - HOUR).total_seconds()),
    )

    assert session.duration_seconds == 3600
    assert [c.kind for c in concerns] == [FlagKind.TIME_CAP]
    assert session.events[0].duration_seconds == 3600


def test_only_closed_sessions_of_the_same_local_day_count_toward_the_cap() -> None:
    activity = plan(hours=4, occurrence_count=2)
    today = served(activity, START, START + 2 * HOUR)
    next_week = served(activity, START + timedelta(weeks=1), START + timedelta(weeks=1, hours=1))
    still_open = session_at(activity, START + 3 * MINUTE, resident_id="r-bob")

    assert counted_on_day([today, next_week, still_open], START + 5 * HOUR) == 2 * 3600
    assert counted_on_day([today], START, leave_out=today.id) == 0


def test_a_sign_out_after_the_grace_is_held_for_review_at_the_window_end() -> None:
    activity = plan()
    session = session_at(activity, START)
    late = START + 2 * HOUR + 2 * HOUR + MINUTE

    concerns = session.sign_out(activity, late, late)

    assert (session.status, session.signed_out_at, session.duration_seconds) == (
        SessionStatus.PENDING_REVIEW,
        START + 2 * HOUR,
        2 * 3600,
    )
    assert session.events == []
    assert [c.kind for c in concerns] == [FlagKind.FORGOTTEN_SIGN_OUT]


def test_a_forgotten_session_is_closed_only_after_the_grace() -> None:
    activity = plan()
    session = session_at(activity, START)

    with pytest.raises(FailedPrecondition, match="past the sign-out grace"):
        session.close_forgotten(START + 4 * HOUR)
    session.close_forgotten(START + 4 * HOUR + timedelta(seconds=1))

    assert session.status is SessionStatus.PENDING_REVIEW
    assert session.events == []


def test_confirming_a_held_session_completes_it_and_announces_it() -> None:
    activity = plan()
    session = session_at(activity, START)
    session.close_forgotten(START + 5 * HOUR)

    session.confirm(activity, "r-staff", START + 6 * HOUR)

    assert (session.status, session.reviewed_by) == (SessionStatus.COMPLETED, "r-staff")
    assert [(type(e), e.occurred_at, e.duration_seconds) for e in session.events] == [
        (SessionCompleted, START + 6 * HOUR, 2 * 3600)
    ]
    with pytest.raises(FailedPrecondition, match="held for review"):
        session.confirm(activity, "r-staff", START + 7 * HOUR)


def test_nobody_confirms_or_corrects_their_own_hours() -> None:
    activity = plan()
    session = session_at(activity, START, resident_id="r-staff")
    session.close_forgotten(START + 5 * HOUR)

    with pytest.raises(SelfConfirmation):
        session.confirm(activity, "r-staff", START + 6 * HOUR)
    with pytest.raises(SelfConfirmation):
        session.correct(activity, 60, "r-staff", "typo", START + 6 * HOUR)
    assert session.status is SessionStatus.PENDING_REVIEW


def test_a_correction_keeps_the_history_and_tells_points_what_it_was_told() -> None:
    activity = plan()
    session = served(activity, START, START + 2 * HOUR)
    session.events.clear()

    session.correct(activity, 3600, "r-staff", " left early ", START + 3 * HOUR)
    session.correct(activity, 5400, "r-lead", "came back", START + 4 * HOUR)

    assert [
        (c.previous_duration_seconds, c.duration_seconds, c.reason) for c in session.corrections
    ] == [
        (7200, 3600, "left early"),
        (3600, 5400, "came back"),
    ]
    assert [(e.previous_duration_seconds, e.duration_seconds) for e in session.events] == [
        (7200, 3600),
        (3600, 5400),
    ]
    assert all(isinstance(e, SessionCorrected) for e in session.events)
    assert (session.signed_in_at, session.signed_out_at) == (START, START + 2 * HOUR)


def test_correcting_a_held_session_tells_points_it_had_nothing() -> None:
    activity = plan()
    session = session_at(activity, START)
    session.close_forgotten(START + 5 * HOUR)

    session.correct(activity, 1800, "r-staff", "left after half an hour", START + 6 * HOUR)

    assert session.status is SessionStatus.COMPLETED
    assert [(e.previous_duration_seconds, e.duration_seconds) for e in session.events] == [
        (0, 1800)
    ]


@pytest.mark.parametrize(
    ("seconds", "reason", "error", "message"),
    [
        (7200, "same", FailedPrecondition, "already counts"),
        (7201, "too long", InvalidArgument, "0 to 7200"),
        (-1, "negative", InvalidArgument, "0 to 7200"),
        (60, "  ", InvalidArgument, "reason"),
        (60, "x" * 501, InvalidArgument, "longer than 500"),
    ],
)
def test_bad_corrections_are_refused(seconds, reason, error, message) -> None:
    activity = plan()
    session = served(activity, START, START + 2 * HOUR)

    with pytest.raises(error, match=message):
        session.correct(activity, seconds, "r-staff", reason, START + 3 * HOUR)
    assert session.corrections == []


def test_an_open_session_cannot_be_corrected() -> None:
    activity = plan()

    with pytest.raises(FailedPrecondition, match="sign it out first"):
        session_at(activity, START).correct(activity, 60, "r-staff", "why", START)


def test_being_at_two_sites_at_once_is_refused() -> None:
    here, there = plan(), plan(place="Riverside park")
    elsewhere = session_at(there, START)

    with pytest.raises(TwoSitesAtOnce, match="Riverside park"):
        presence_check(here, "r-alice", START + MINUTE, None, [elsewhere], {there.id: there.place})


def test_an_overlap_at_the_same_place_is_refused_without_calling_it_fraud() -> None:
    here, same_place = plan(), plan()
    earlier = served(same_place, START, START + HOUR)

    with pytest.raises(OverlappingSession) as refused:
        presence_check(
            here, "r-alice", START + 30 * MINUTE, None, [earlier], {same_place.id: "Block 3"}
        )
    assert not isinstance(refused.value, TwoSitesAtOnce)


def test_a_sign_out_must_not_reach_into_a_later_session() -> None:
    here, there = plan(), plan(place="Riverside park")
    later = served(there, START + HOUR, START + 2 * HOUR)

    presence_check(
        here, "r-alice", START - 20 * MINUTE, START + HOUR, [later], {there.id: there.place}
    )
    with pytest.raises(TwoSitesAtOnce):
        presence_check(
            here,
            "r-alice",
            START - 20 * MINUTE,
            START + HOUR + MINUTE,
            [later],
            {there.id: there.place},
        )


def test_more_than_four_sign_ins_a_day_are_refused() -> None:
    activity = plan(hours=8)
    today = [served(activity, START + n * HOUR, START + n * HOUR + 30 * MINUTE) for n in range(4)]

    with pytest.raises(TooManySessions, match="already has 4 sessions today"):
        presence_check(activity, "r-alice", START + 5 * HOUR, None, today, {activity.id: "Block 3"})
    presence_check(activity, "r-alice", START + 5 * HOUR, None, today[:3], {activity.id: "Block 3"})


def test_a_two_sites_gap_refuses_sessions_at_two_places_too_close_in_time() -> None:
    here, there = plan(), plan(place="Riverside park", starts_at=START - 2 * HOUR)
    earlier = served(there, START - HOUR, START - 10 * MINUTE)
    gap = dataclasses.replace(POLICY_LIMITS, two_sites_gap=20 * MINUTE)

    presence_check(here, "r-alice", START, None, [earlier], {there.id: there.place})
    with pytest.raises(TwoSitesAtOnce):
        presence_check(here, "r-alice", START, None, [earlier], {there.id: there.place}, limits=gap)
    # The same place is not two sites, however close in time.
    same = served(plan(starts_at=START - 2 * HOUR), START - HOUR, START - 10 * MINUTE)
    presence_check(here, "r-alice", START, None, [same], {same.activity_id: "Block 3"}, limits=gap)
