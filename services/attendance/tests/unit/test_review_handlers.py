"""Sign-in methods, anti-fraud flags, reviews, ratings and project leads through the use cases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from linli_attendance.domain.activities import (
    ActivityClosed,
    EmergencyCalled,
    FaceMatch,
    FaceReenrolmentSuggested,
    KioskNotBound,
    ScheduleKind,
    ServiceType,
    SessionCompleted,
    SessionCorrected,
    SessionStatus,
    SignInMethod,
    WrongCheckInCode,
)
from linli_attendance.domain.leads import LeadStatus, ProjectLeadPromoted
from linli_attendance.domain.ratings import SessionRated
from linli_attendance.domain.review import (
    FlagKind,
    SelfConfirmation,
    TooManySessions,
    TwoSitesAtOnce,
)
from linli_attendance.domain.roster import RosterRole
from linli_attendance.service_layer import (
    activities,
    commands,
    leads,
    ratings,
    reviews,
    roster,
    sessions,
    sweeps,
)
from linli_attendance.service_layer.ports import LivenessChallenge
from linli_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from linli_kit.principals import Role
from linli_kit.testing import load_beside

C = "c-east"
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Asia/Shanghai
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
STAFF = SignInMethod.STAFF_CONFIRMED
FACE = FaceMatch("dlib", "resnet-v1", 0.91, 0.6)
fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")


ALICE = fakes.person("r-alice", Role.VOLUNTEER)


def staff(resident: str = "r-staff"):
    """A grid head of c-east acting."""
    return fakes.person(resident, Role.GRID_HEAD)


@pytest.fixture
def everyone(directory):
    """Identity also knows r-carol, r-grandma and r-dave."""
    directory.known |= {(C, "r-carol"), (C, "r-grandma"), (C, "r-dave")}
    return directory


def plan(uow, clock, place="Block 3", hours=2, **extra):
    """A routine regular-service activity from START, bound to kiosk k-gate."""
    starts_at = extra.pop("starts_at", START)
    return activities.create_activity(
        commands.CreateActivity(
            C,
            "Clean-up",
            ServiceType.REGULAR,
            extra.pop("kind", ScheduleKind.ROUTINE),
            starts_at,
            extra.pop("ends_at", (starts_at or START) + hours * HOUR),
            place=place,
            kiosk_ids=("k-gate",),
            **extra,
            actor=fakes.STAFF,
        ),
        uow,
        clock,
    )


def sign_in(uow, clock, directory, activity, resident="r-alice", at=None, **extra):
    """A sign-in confirmed by r-staff (or made by the caller named `by`)."""
    by, method = extra.pop("by", fakes.STAFF), extra.pop("method", STAFF)
    command = commands.SignIn(C, activity.id, resident, method, at, **extra, actor=by)
    return sessions.sign_in(command, uow, directory, clock)


def sign_out(uow, clock, activity, resident="r-alice", at=None, **extra):
    """A sign-out confirmed by r-staff."""
    command = commands.SignOut(
        C, activity.id, resident, extra.pop("method", STAFF), at, **extra, actor=fakes.STAFF
    )
    return sessions.sign_out(command, uow, fakes.FakeResidentDirectory((C, resident)), clock)


def serve(uow, clock, directory, activity, resident="r-alice", hours=2):
    """Sign in at the start and out `hours` later; the clock ends at the sign-out."""
    start = activity.window_at(clock.now).starts_at if activity.window_at(clock.now) else START
    clock.now = start
    sign_in(uow, clock, directory, activity, resident)
    clock.now = start + hours * HOUR
    return sign_out(uow, clock, activity, resident)


def flags(uow):
    """The kinds of the open flags, newest first."""
    return [f.kind for f in reviews.list_flags(fakes.STAFF, C, True, 0, 50, uow)[0]]


def burst(resident: str) -> commands.FacePresence:
    """A kiosk burst at k-gate whose fake identification finds `resident`."""
    return commands.FacePresence(
        C,
        "",
        "k-gate",
        (resident.encode(), b"frame", b"frame"),
        LivenessChallenge.BLINK,
        actor=fakes.STAFF,
    )


def at_activity(presence: commands.FacePresence, activity, kiosk: str = "k-gate"):
    """The burst aimed at an activity through a kiosk."""
    return commands.FacePresence(
        C,
        activity.id,
        kiosk,
        presence.frames,
        presence.challenge,
        presence.request_id,
        actor=presence.actor,
    )


def test_qr_and_pin_need_the_activity_code(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    clock.now = START

    with pytest.raises(InvalidArgument, match="code is required"):
        sign_in(uow, clock, directory, activity, method=SignInMethod.QR_CODE)
    with pytest.raises(WrongCheckInCode):
        sign_in(uow, clock, directory, activity, method=SignInMethod.PIN, code="12345x")
    session = sign_in(
        uow, clock, directory, activity, method=SignInMethod.QR_CODE, code=activity.check_in_code
    )

    assert (session.method, session.confirmed_by) == (SignInMethod.QR_CODE, "r-staff")
    assert len(uow.sessions.rows) == 1


def test_a_resident_signs_themself_in_with_the_code_and_no_confirmer(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    clock.now = START
    alice = fakes.person("r-alice", Role.VOLUNTEER)

    with pytest.raises(WrongCheckInCode):
        sign_in(uow, clock, directory, activity, method=SignInMethod.QR_CODE, code="x", by=alice)
    session = sign_in(
        uow,
        clock,
        directory,
        activity,
        method=SignInMethod.QR_CODE,
        code=activity.check_in_code,
        by=alice,
    )

    assert (session.method, session.confirmed_by) == (SignInMethod.QR_CODE, "")


def test_a_face_method_is_refused_on_the_staff_path(uow, clock, directory) -> None:
    activity = plan(uow, clock)

    with pytest.raises(InvalidArgument, match="kiosk"):
        sign_in(uow, clock, directory, activity, method=SignInMethod.FACE)


def on_roster(uow, clock, directory, activity, *residents, starts=None):
    """Staff put the residents on the roster of the occurrence starting at `starts`."""
    for resident in residents:
        command = commands.AddRosterEntry(
            C, activity.id, starts, resident, RosterRole.VOLUNTEER, actor=fakes.STAFF
        )
        roster.add_roster_entry(command, uow, directory, clock)


def test_face_sign_in_and_out_record_the_decision(uow, clock, directory, faces) -> None:
    activity = plan(uow, clock)
    on_roster(uow, clock, directory, activity, "r-alice", "r-bob")
    clock.now = START - 5 * MINUTE
    sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)
    clock.now = START + HOUR

    session = sessions.face_sign_out(at_activity(burst("r-alice"), activity), uow, faces, clock)

    stored = uow.sessions.rows[(C, session.id)]
    for proof in (stored.sign_in_proof, stored.sign_out_proof):
        assert proof is not None
        assert (proof.method, proof.kiosk_id, proof.face, proof.confirmed_by) == (
            SignInMethod.FACE,
            "k-gate",
            FACE,
            "",
        )
    assert (stored.signed_in_at, stored.duration_seconds) == (START - 5 * MINUTE, 3600)
    assert [type(e) for e in uow.published] == [SessionCompleted]
    # Sign-in identifies among the roster, sign-out among those signed in.
    assert faces.calls == [
        (C, ("r-alice", "r-bob"), 3, LivenessChallenge.BLINK),
        (C, ("r-alice",), 3, LivenessChallenge.BLINK),
    ]


def test_a_kiosk_identifies_only_the_occurrences_roster(uow, clock, everyone, faces) -> None:
    activity = plan(uow, clock)
    clock.now = START

    with pytest.raises(FailedPrecondition, match="nobody is on this occurrence's roster"):
        sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)
    assert faces.calls == []  # identity is not even asked
    on_roster(uow, clock, everyone, activity, "r-bob", "r-carol")
    # Enrolled or not, Alice is not expected here: nobody is named.
    with pytest.raises(NotFound):
        sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)
    assert faces.calls[-1][1] == ("r-bob", "r-carol")
    assert uow.sessions.rows == {}
    opened = sessions.face_sign_in(at_activity(burst("r-bob"), activity), uow, faces, clock)
    assert opened.resident_id == "r-bob"


def test_a_close_call_is_flagged_and_held_until_staff_confirm(uow, clock, directory) -> None:
    close = FaceMatch("dlib", "resnet-v1", 0.95, 0.96, 12, 0.94, 0.02, 0.93, 4, 5, True)
    faces = fakes.FakeFaceIdentifier(close)
    activity = plan(uow, clock)
    on_roster(uow, clock, directory, activity, "r-alice")
    clock.now = START
    sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)
    assert flags(uow) == [FlagKind.FACE_UNCERTAIN]
    clock.now = START + HOUR

    held = sessions.face_sign_out(at_activity(burst("r-alice"), activity), uow, faces, clock)

    assert (held.status, held.duration_seconds) == (SessionStatus.PENDING_REVIEW, 3600)
    assert held.sign_in_proof.face == close
    assert SessionCompleted not in [type(e) for e in uow.published]
    confirmed = reviews.confirm_session(
        commands.ConfirmSession(C, held.id, actor=fakes.STAFF), uow, clock
    )
    assert confirmed.status is SessionStatus.COMPLETED
    assert [type(e) for e in uow.published][-1] is SessionCompleted


def test_close_calls_that_keep_coming_prompt_a_re_enrolment_once(uow, clock, directory) -> None:
    close = FaceMatch("dlib", "resnet-v1", 0.95, 0.96, 12, 0.94, 0.02, 0.93, 4, 5, True)
    faces = fakes.FakeFaceIdentifier(close)
    for day in range(4):
        starts = START + timedelta(weeks=day)
        activity = plan(uow, clock, starts_at=starts)
        on_roster(uow, clock, directory, activity, "r-alice")
        clock.now = starts
        sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)
        clock.now = starts + HOUR
        faces.match = dataclasses.replace(close, needs_confirmation=day != 1)
        sessions.face_sign_out(at_activity(burst("r-alice"), activity), uow, faces, clock)
        faces.match = close

    # Decisions: U U, U C, U U, U U — the third close call of the last five prompts, once.
    prompts = [f for f in uow.flags.rows.values() if f.kind is FlagKind.FACE_REENROLMENT]
    suggested = [e for e in uow.published if isinstance(e, FaceReenrolmentSuggested)]
    assert len(prompts) == 1 and len(suggested) == 1
    assert (suggested[0].resident_id, suggested[0].needing_confirmation) == ("r-alice", 3)
    # Alice sees her prompt (and none of the staff's other flags); Bob sees nothing of hers.
    mine, _ = reviews.list_flags(fakes.person("r-alice"), C, True, 0, 50, uow)
    assert [f.kind for f in mine] == [FlagKind.FACE_REENROLMENT]
    assert reviews.list_flags(fakes.person("r-bob"), C, True, 0, 50, uow) == ([], False)
    everything, _ = reviews.list_flags(fakes.STAFF, C, True, 0, 50, uow)
    assert FlagKind.FACE_UNCERTAIN in {f.kind for f in everything}


def test_an_unbound_kiosk_is_refused_before_any_face_is_looked_at(uow, clock, faces) -> None:
    activity = plan(uow, clock)
    clock.now = START

    with pytest.raises(KioskNotBound):
        sessions.face_sign_in(at_activity(burst("r-alice"), activity, "k-side"), uow, faces, clock)

    assert faces.calls == []
    assert uow.sessions.rows == {}


def test_a_closed_activity_is_refused_before_any_face_is_looked_at(uow, clock, faces) -> None:
    activity = plan(uow, clock)
    activities.close_activity(commands.CloseActivity(C, activity.id, actor=fakes.STAFF), uow, clock)
    clock.now = START

    with pytest.raises(ActivityClosed):
        sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)

    assert faces.calls == []


def test_an_empty_burst_or_a_refused_face_records_nothing(uow, clock, directory, faces) -> None:
    activity = plan(uow, clock)
    on_roster(uow, clock, directory, activity, "r-alice")
    clock.now = START
    empty = commands.FacePresence(
        C, activity.id, "k-gate", (), LivenessChallenge.BLINK, actor=fakes.STAFF
    )

    with pytest.raises(InvalidArgument, match="frames"):
        sessions.face_sign_in(empty, uow, faces, clock)
    faces.refusal = InvalidArgument("face not accepted: no face in frame 1")
    with pytest.raises(InvalidArgument, match="no face"):
        sessions.face_sign_in(at_activity(burst("r-alice"), activity), uow, faces, clock)

    assert uow.sessions.rows == {} and uow.flags.rows == {}


def test_a_face_sign_out_without_a_session_is_refused(uow, clock, faces) -> None:
    activity = plan(uow, clock)
    clock.now = START

    with pytest.raises(FailedPrecondition, match="nobody is signed in"):
        sessions.face_sign_out(at_activity(burst("r-alice"), activity), uow, faces, clock)


def test_two_sites_at_once_is_refused_and_flagged(uow, clock, directory) -> None:
    here, there = plan(uow, clock), plan(uow, clock, place="Riverside park")
    clock.now = START
    sign_in(uow, clock, directory, here)

    with pytest.raises(TwoSitesAtOnce):
        sign_in(uow, clock, directory, there)

    assert [s.activity_id for s in uow.sessions.rows.values()] == [here.id]
    assert flags(uow) == [FlagKind.TWO_SITES]


def test_the_fifth_sign_in_of_a_day_is_refused_and_flagged(uow, clock, directory) -> None:
    activity = plan(uow, clock, hours=8)
    for n in range(4):
        clock.now = START + n * HOUR
        sign_in(uow, clock, directory, activity)
        clock.now += 10 * MINUTE
        sign_out(uow, clock, activity)
    clock.now = START + 5 * HOUR

    with pytest.raises(TooManySessions):
        sign_in(uow, clock, directory, activity)

    assert len(uow.sessions.rows) == 4
    assert flags(uow) == [FlagKind.TOO_MANY_SESSIONS]


def test_staff_confirming_their_own_sign_in_is_refused_and_flagged(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    clock.now = START

    with pytest.raises(SelfConfirmation):
        sign_in(uow, clock, directory, activity, resident="r-staff")

    assert uow.sessions.rows == {}
    assert flags(uow) == [FlagKind.SELF_CONFIRMATION]


def test_the_daily_cap_counts_the_rest_and_flags_it(uow, clock, directory) -> None:
    morning = plan(uow, clock, hours=7)
    evening = plan(uow, clock, starts_at=START + 8 * HOUR, hours=3)
    serve(uow, clock, directory, morning, hours=7)
    clock.now = START + 8 * HOUR

    session = serve(uow, clock, directory, evening, hours=3)

    assert session.duration_seconds == 3600
    assert [e.duration_seconds for e in uow.published if isinstance(e, SessionCompleted)] == [
        7 * 3600,
        3600,
    ]
    assert flags(uow) == [FlagKind.TIME_CAP]


def test_a_forgotten_sign_out_earns_nothing_until_confirmed(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    clock.now = START
    opened = sign_in(uow, clock, directory, activity)
    clock.now = START + 4 * HOUR

    assert sweeps.close_forgotten_sessions(uow, clock()) == 0
    clock.now += MINUTE
    assert sweeps.close_forgotten_sessions(uow, clock()) == 1

    held = sessions.get_session(fakes.STAFF, C, opened.id, uow)
    assert (held.status, held.signed_out_at, held.duration_seconds) == (
        SessionStatus.PENDING_REVIEW,
        START + 2 * HOUR,
        7200,
    )
    assert uow.published == []
    assert flags(uow) == [FlagKind.FORGOTTEN_SIGN_OUT]

    confirmed = reviews.confirm_session(
        commands.ConfirmSession(C, opened.id, actor=staff()), uow, clock
    )

    assert confirmed.status is SessionStatus.COMPLETED
    assert [(type(e), e.duration_seconds) for e in uow.published] == [(SessionCompleted, 7200)]
    assert flags(uow) == []


def test_a_late_sign_out_is_held_like_a_forgotten_one(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    clock.now = START
    sign_in(uow, clock, directory, activity)
    clock.now = START + 5 * HOUR

    session = sign_out(uow, clock, activity)

    assert session.status is SessionStatus.PENDING_REVIEW
    assert uow.published == []


def test_nobody_confirms_their_own_held_session(uow, clock, everyone) -> None:
    activity = plan(uow, clock)
    clock.now = START
    opened = sign_in(uow, clock, everyone, activity, resident="r-carol")
    clock.now = START + 5 * HOUR
    sweeps.close_forgotten_sessions(uow, clock())
    clock.now += MINUTE

    with pytest.raises(SelfConfirmation):
        reviews.confirm_session(
            commands.ConfirmSession(C, opened.id, actor=staff("r-carol")), uow, clock
        )

    assert uow.published == []
    assert flags(uow) == [FlagKind.SELF_CONFIRMATION, FlagKind.FORGOTTEN_SIGN_OUT]


def test_a_correction_publishes_and_keeps_what_was_published(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    session = serve(uow, clock, directory, activity, hours=2)
    clock.now += HOUR

    reviews.correct_session(
        commands.CorrectSession(C, session.id, 5400, "left at 11:30", actor=staff("r-bob")),
        uow,
        clock,
    )

    stored = sessions.get_session(fakes.STAFF, C, session.id, uow)
    assert stored.duration_seconds == 5400
    assert [(c.previous_duration_seconds, c.corrected_by) for c in stored.corrections] == [
        (7200, "r-bob")
    ]
    assert [type(e) for e in uow.published] == [SessionCompleted, SessionCorrected]
    assert uow.published[0].duration_seconds == 7200


def test_a_resident_cannot_correct_someones_session_to_zero(uow, clock, directory) -> None:
    activity = plan(uow, clock)
    session = serve(uow, clock, directory, activity)
    bob = fakes.person("r-bob", Role.VOLUNTEER, Role.CORE_VOLUNTEER)

    with pytest.raises(PermissionDenied, match="staff"):
        reviews.correct_session(
            commands.CorrectSession(C, session.id, 0, "why", actor=bob), uow, clock
        )

    assert uow.sessions.rows[(C, session.id)].duration_seconds == 7200

    assert [type(e) for e in uow.published] == [SessionCompleted]


def test_checklist_steps_are_recorded_per_session(uow, clock, directory) -> None:
    activity = plan(uow, clock, checklist=("工具准备", "区域划分", "垃圾分类"))
    session = serve(uow, clock, directory, activity)

    sessions.record_checklist(
        commands.RecordChecklist(C, session.id, ("垃圾分类",), actor=fakes.STAFF), uow
    )

    assert uow.sessions.rows[(C, session.id)].checklist_done == ("垃圾分类",)


def test_a_full_activity_refuses_the_next_volunteer(uow, clock, directory) -> None:
    activity = plan(uow, clock, capacity=1)
    clock.now = START
    sign_in(uow, clock, directory, activity)

    with pytest.raises(FailedPrecondition, match="already has 1 volunteers"):
        sign_in(uow, clock, directory, activity, resident="r-bob")


def test_an_emergency_is_published_at_once(uow, clock) -> None:
    activity = plan(
        uow,
        clock,
        kind=ScheduleKind.EMERGENCY,
        starts_at=None,
        ends_at=clock.now + 4 * HOUR,
        org_units=("grid-3",),
    )

    assert activity.starts_at == clock.now
    assert uow.published == [
        EmergencyCalled(
            community_id=C,
            occurred_at=clock.now,
            activity_id=activity.id,
            title="Clean-up",
            org_units=("grid-3",),
            starts_at=clock.now,
        )
    ]


@pytest.fixture
def served(uow, clock, everyone):
    """Alice served Grandma 10:00-12:00 and Bob beside her; the clock is at 12:00."""
    activity = plan(uow, clock)
    clock.now = START
    sign_in(uow, clock, everyone, activity, resident="r-bob")
    session = serve(uow, clock, everyone, activity)
    record = commands.RecordServed(C, session.id, ("r-grandma", "r-bob"), actor=fakes.STAFF)
    session = sessions.record_served(record, uow, everyone, clock)
    uow.published.clear()
    return session


def rate(uow, clock, session, rated_by="r-grandma", stars=5):
    """A rating of the session by the resident rated_by."""
    rater = fakes.person(rated_by, Role.RESIDENT)
    return ratings.rate_session(commands.RateSession(C, session.id, stars, actor=rater), uow, clock)


def test_a_resident_served_rates_once(uow, clock, everyone, served) -> None:
    rating = rate(uow, clock, served)

    assert rating.stars == 5
    assert uow.published == [
        SessionRated(
            community_id=C,
            occurred_at=clock.now,
            activity_id=served.activity_id,
            session_id=served.id,
            resident_id="r-alice",
            rated_by="r-grandma",
            stars=5,
        )
    ]
    with pytest.raises(AlreadyExists):
        rate(uow, clock, served, stars=4)
    assert len(uow.published) == 1


@pytest.mark.parametrize(
    ("rated_by", "stars", "error", "message"),
    [
        ("r-alice", 5, PermissionDenied, "own session"),
        ("r-bob", 5, PermissionDenied, "same activity"),
        ("r-grandma", 0, InvalidArgument, "1 to 5"),
        ("r-grandma", 6, InvalidArgument, "1 to 5"),
        ("r-nobody", 5, PermissionDenied, "only a resident this session served"),
    ],
)
def test_ratings_that_are_refused(uow, clock, everyone, served, rated_by, stars, error, message):
    with pytest.raises(error, match=message):
        rate(uow, clock, served, rated_by, stars)

    assert uow.published == [] and uow.ratings.rows == {}


def test_ratings_close_72_hours_after_completion(uow, clock, everyone, served) -> None:
    clock.now += timedelta(hours=72, seconds=1)

    with pytest.raises(FailedPrecondition, match="72 h"):
        rate(uow, clock, served)


def test_a_held_session_cannot_be_rated(uow, clock, everyone) -> None:
    activity = plan(uow, clock)
    clock.now = START
    opened = sign_in(uow, clock, everyone, activity)
    clock.now = START + 5 * HOUR
    sweeps.close_forgotten_sessions(uow, clock())

    with pytest.raises(FailedPrecondition, match="only a completed session"):
        rate(uow, clock, opened)


def test_a_lead_is_promoted_after_three_runs_once(uow, clock, everyone) -> None:
    activity = plan(uow, clock, occurrence_count=5)
    lead = leads.apply_project_lead(
        commands.ApplyProjectLead(C, activity.id, "I know the block", actor=ALICE), uow, clock
    )
    leads.approve_project_lead(commands.ApproveProjectLead(C, lead.id, actor=staff()), uow, clock)
    for week in range(5):
        clock.now = START + timedelta(weeks=week)
        serve(uow, clock, everyone, activity, hours=1)
        if week == 1:  # a second session in one occurrence is not a second run
            clock.now += MINUTE
            sign_in(uow, clock, everyone, activity)
            clock.now += 20 * MINUTE
            sign_out(uow, clock, activity)

    promoted = leads.get_project_lead(fakes.STAFF, C, lead.id, uow)
    assert (promoted.status, len(promoted.runs)) == (LeadStatus.PROMOTED, 5)
    assert [e for e in uow.published if isinstance(e, ProjectLeadPromoted)] == [
        ProjectLeadPromoted(
            community_id=C,
            occurred_at=START + timedelta(weeks=2, hours=1),
            resident_id="r-alice",
            activity_id=activity.id,
            successful_runs=3,
        )
    ]


def test_runs_before_approval_do_not_count(uow, clock, everyone) -> None:
    activity = plan(uow, clock, occurrence_count=3)
    lead = leads.apply_project_lead(
        commands.ApplyProjectLead(C, activity.id, actor=ALICE), uow, clock
    )
    for week in range(3):
        clock.now = START + timedelta(weeks=week)
        serve(uow, clock, everyone, activity, hours=1)

    assert leads.get_project_lead(fakes.STAFF, C, lead.id, uow).runs == ()


def test_nobody_approves_their_own_application(uow, clock, everyone) -> None:
    activity = plan(uow, clock)
    lead = leads.apply_project_lead(
        commands.ApplyProjectLead(C, activity.id, actor=ALICE), uow, clock
    )

    with pytest.raises(SelfConfirmation):
        leads.approve_project_lead(
            commands.ApproveProjectLead(C, lead.id, actor=staff("r-alice")), uow, clock
        )

    assert leads.get_project_lead(fakes.STAFF, C, lead.id, uow).status is LeadStatus.APPLIED
    assert flags(uow) == [FlagKind.SELF_CONFIRMATION]
    with pytest.raises(AlreadyExists):
        leads.apply_project_lead(commands.ApplyProjectLead(C, activity.id, actor=ALICE), uow, clock)


def test_staff_resolve_a_refusal_flag_but_not_one_about_themselves(uow, clock, everyone) -> None:
    here, there = plan(uow, clock), plan(uow, clock, place="Riverside park")
    clock.now = START
    sign_in(uow, clock, everyone, here, resident="r-carol")
    with pytest.raises(TwoSitesAtOnce):
        sign_in(uow, clock, everyone, there, resident="r-carol")
    (flag,) = reviews.list_flags(fakes.STAFF, C, True, 0, 10, uow)[0]

    with pytest.raises(PermissionDenied, match="about themself"):
        reviews.resolve_flag(commands.ResolveFlag(C, flag.id, actor=staff("r-carol")), uow, clock)
    resolved = reviews.resolve_flag(commands.ResolveFlag(C, flag.id, actor=staff()), uow, clock)

    assert (resolved.resolved_by, resolved.resolved_at) == ("r-staff", START)
    assert flags(uow) == []
    with pytest.raises(FailedPrecondition, match="already resolved"):
        reviews.resolve_flag(commands.ResolveFlag(C, flag.id, actor=staff("r-dave")), uow, clock)
