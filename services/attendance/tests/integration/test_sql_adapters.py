"""The SQL adapters on real PostgreSQL: the use cases through SqlAttendanceUnitOfWork."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from linli_attendance.adapters import events, orm
from linli_attendance.bootstrap import sql_uow_factory
from linli_attendance.domain.activities import (
    FaceMatch,
    ScheduleKind,
    ServiceType,
    SessionStatus,
    SignInMethod,
)
from linli_attendance.domain.leads import LeadStatus
from linli_attendance.domain.review import FlagKind, TwoSitesAtOnce
from linli_attendance.domain.roster import RosterRole
from linli_attendance.entrypoints.cli import MIGRATIONS
from linli_attendance.service_layer import (
    activities,
    commands,
    leads,
    ratings,
    reports,
    reviews,
    roster,
    sessions,
    sweeps,
)
from linli_attendance.service_layer.ports import AttendanceUnitOfWork, LivenessChallenge
from linli_kit.db import migrate, sql_plumbing
from linli_kit.errors import AlreadyExists
from linli_kit.principals import Kind, Principal, Role
from linli_kit.testing import load_beside, statement_kinds

C = "c-east"
UNIT = str(Path(__file__).parent.parent / "unit" / "conftest.py")  # the unit tests' folder


def _person(resident: str, *roles: str) -> Principal:
    return Principal(Kind.PERSON, f"communities/{C}/residents/{resident}", C, frozenset(roles))


STAFF = _person("r-staff", Role.SOCIAL_WORKER)
START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Asia/Shanghai
HOUR = timedelta(hours=1)
FACE = FaceMatch("dlib", "resnet-v1", 0.95, 0.943, 50, 0.9, 0.02, 0.93, 5, 5, False)


class Everyone:
    """Identity knows every resident."""

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Always registered."""
        return True


class Kiosk:
    """Identity recognises one resident in any burst."""

    def __init__(self, resident_id: str) -> None:
        self.resident_id = resident_id

    def identify(
        self,
        community_id: str,
        candidates: object,
        frames: object,
        challenge: LivenessChallenge,
    ) -> tuple[str, FaceMatch]:
        """The set resident with a fixed decision record."""
        return self.resident_id, FACE


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The set time."""
        return self.now


@pytest.fixture
def database(make_database: Callable[[str], str]) -> str:
    """A migrated attendance database."""
    url = make_database("attendance")
    migrate(url, MIGRATIONS)
    return url


@pytest.fixture
def make_uow(database: str) -> Callable[[], AttendanceUnitOfWork]:
    """Units of work on the migrated database."""
    plumbing = sql_plumbing(database, orm.runtime, "attendance.events", events.encode)
    yield sql_uow_factory(plumbing)
    plumbing.engine.dispose()


def _sign_in_alice(
    make_uow: Callable[[], AttendanceUnitOfWork], activity_id: str, clock: Clock
) -> None:
    sessions.sign_in(
        commands.SignIn(C, activity_id, "r-alice", SignInMethod.STAFF_CONFIRMED, actor=STAFF),
        make_uow(),
        Everyone(),
        clock,
    )


def _outbox_types(url: str) -> list[str]:
    from linli.events.v1 import envelope_pb2

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT envelope FROM outbox ORDER BY id")).all()
    engine.dispose()
    return [envelope_pb2.EventEnvelope.FromString(row[0]).type.rsplit(".", 1)[1] for row in rows]


def _plan(make_uow, clock, place="Block 3", kiosks=("k-gate",), kind=ScheduleKind.ROUTINE, **kw):
    return activities.create_activity(
        commands.CreateActivity(
            C,
            "Street clean-up",
            ServiceType.REGULAR,
            kind,
            kw.pop("starts_at", START),
            kw.pop("ends_at", START + 2 * HOUR),
            place=place,
            kiosk_ids=kiosks,
            checklist=("工具准备", "区域划分"),
            **kw,
            actor=STAFF,
        ),
        make_uow(),
        clock,
    )


def test_activity_round_trip_with_schedule_kiosks_and_checklist(make_uow) -> None:
    clock = Clock(START - 24 * HOUR)
    made = _plan(make_uow, clock, occurrence_count=3, capacity=5)

    stored = activities.get_activity(STAFF, C, made.id, make_uow())

    assert (stored.place, stored.capacity, stored.kiosk_ids, stored.checklist) == (
        "Block 3",
        5,
        ("k-gate",),
        ("工具准备", "区域划分"),
    )
    assert [w.starts_at for w in stored.occurrences()] == [
        START,
        START + timedelta(weeks=1),
        START + timedelta(weeks=2),
    ]
    assert stored.check_in_code == made.check_in_code and len(made.check_in_code) == 6


def test_pages_of_a_roster_cover_it_once_in_order(make_uow, database) -> None:
    clock = Clock(START)
    activity = _plan(make_uow, clock)
    residents = [f"r-{n}" for n in (3, 1, 4, 0, 2)]
    for resident in residents:
        roster.add_roster_entry(
            commands.AddRosterEntry(
                C, activity.id, None, resident, RosterRole.VOLUNTEER, actor=STAFF
            ),
            make_uow(),
            Everyone(),
            clock,
        )
        clock.now += timedelta(seconds=1)

    def page(actor: Principal, offset: int) -> tuple[list[str], bool]:
        found, more = roster.list_roster_entries(actor, C, activity.id, None, offset, 2, make_uow())
        return [e.resident_id for e in found], more

    assert [page(STAFF, offset) for offset in (0, 2, 4)] == [
        (residents[:2], True),
        (residents[2:4], True),
        (residents[4:], False),
    ]
    assert page(_person("r-4"), 0) == (["r-4"], False)


def test_face_session_keeps_its_records_and_a_correction_history(make_uow, database) -> None:
    clock = Clock(START)
    activity = _plan(make_uow, clock)
    presence = commands.FacePresence(
        C, activity.id, "k-gate", (b"frame",), LivenessChallenge.BLINK, actor=STAFF
    )
    for resident in ("r-alice", "r-bob"):
        roster.add_roster_entry(
            commands.AddRosterEntry(
                C, activity.id, None, resident, RosterRole.VOLUNTEER, actor=STAFF
            ),
            make_uow(),
            Everyone(),
            clock,
        )
    roster.remove_roster_entry(
        commands.RemoveRosterEntry(C, activity.id, None, "r-bob", actor=STAFF), make_uow(), clock
    )
    with make_uow() as uow:
        assert roster.expected_at(uow, C, activity.id, START) == ("r-alice",)
    sessions.face_sign_in(presence, make_uow(), Kiosk("r-alice"), clock)
    clock.now = START + 90 * timedelta(minutes=1)
    session = sessions.face_sign_out(presence, make_uow(), Kiosk("r-alice"), clock)
    sessions.record_checklist(
        commands.RecordChecklist(C, session.id, ("区域划分", "工具准备"), actor=STAFF), make_uow()
    )
    for minutes, reason in ((100, "arrived early"), (110, "stayed to tidy up")):
        reviews.correct_session(
            commands.CorrectSession(C, session.id, minutes * 60, reason, actor=STAFF),
            make_uow(),
            clock,
        )

    stored = sessions.get_session(STAFF, C, session.id, make_uow())

    assert stored.sign_in_proof.method is SignInMethod.FACE
    assert (stored.sign_in_proof.kiosk_id, stored.sign_in_proof.face) == ("k-gate", FACE)
    assert stored.sign_out_proof is not None and stored.sign_out_proof.face == FACE
    assert stored.checklist_done == ("工具准备", "区域划分")
    assert [(c.previous_duration_seconds, c.duration_seconds) for c in stored.corrections] == [
        (90 * 60, 100 * 60),
        (100 * 60, 110 * 60),
    ]
    assert (stored.status, stored.duration_seconds) == (SessionStatus.COMPLETED, 110 * 60)
    assert _outbox_types(database) == ["SessionCompleted", "SessionCorrected", "SessionCorrected"]


def test_forgotten_sign_outs_are_found_across_communities_and_held(make_uow, database) -> None:
    clock = Clock(START)
    activity = _plan(make_uow, clock)
    _sign_in_alice(make_uow, activity.id, clock)
    clock.now = START + 4 * HOUR + timedelta(seconds=1)

    assert sweeps.close_forgotten_sessions(make_uow(), clock()) == 1
    assert sweeps.close_forgotten_sessions(make_uow(), clock()) == 0

    flags, _ = reviews.list_flags(STAFF, C, True, 0, 10, make_uow())
    assert [f.kind for f in flags] == [FlagKind.FORGOTTEN_SIGN_OUT]
    assert _outbox_types(database) == []


def test_two_sites_at_once_is_refused_but_the_flag_is_stored(make_uow) -> None:
    clock = Clock(START)
    here = _plan(make_uow, clock)
    there = _plan(make_uow, clock, place="Riverside park")
    sign_in = commands.SignIn(C, here.id, "r-alice", SignInMethod.STAFF_CONFIRMED, actor=STAFF)
    sessions.sign_in(sign_in, make_uow(), Everyone(), clock)

    with pytest.raises(TwoSitesAtOnce, match="Block 3"):
        sessions.sign_in(
            commands.SignIn(C, there.id, "r-alice", SignInMethod.STAFF_CONFIRMED, actor=STAFF),
            make_uow(),
            Everyone(),
            clock,
        )

    flags, _ = reviews.list_flags(STAFF, C, True, 0, 10, make_uow())
    assert [(f.kind, f.activity_id) for f in flags] == [(FlagKind.TWO_SITES, there.id)]
    uow = make_uow()
    with uow:
        assert uow.sessions.open_for(C, there.id, "r-alice") is None


def test_concurrent_sign_ins_at_two_sites_let_exactly_one_through(make_uow) -> None:
    clock = Clock(START)
    here, there = _plan(make_uow, clock), _plan(make_uow, clock, place="Riverside park")
    barrier = threading.Barrier(2)

    def attempt(resident_id: str, activity_id: str) -> str:
        command = commands.SignIn(
            C, activity_id, resident_id, SignInMethod.STAFF_CONFIRMED, actor=STAFF
        )
        barrier.wait()
        try:
            sessions.sign_in(command, make_uow(), Everyone(), clock)
        except TwoSitesAtOnce:
            return "refused"
        return "signed in"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = [
            sorted(pool.map(attempt, [f"r-{n}"] * 2, [here.id, there.id])) for n in range(10)
        ]

    assert outcomes == [["refused", "signed in"]] * 10


def test_one_rating_per_resident_and_a_lead_promoted_once(make_uow, database) -> None:
    clock = Clock(START - HOUR)
    activity = _plan(make_uow, clock, occurrence_count=4)
    lead = leads.apply_project_lead(
        commands.ApplyProjectLead(C, activity.id, actor=_person("r-alice")), make_uow(), clock
    )
    leads.approve_project_lead(
        commands.ApproveProjectLead(C, lead.id, actor=STAFF), make_uow(), clock
    )
    for week in range(4):
        clock.now = START + timedelta(weeks=week)
        _sign_in_alice(make_uow, activity.id, clock)
        clock.now += HOUR
        session = sessions.sign_out(
            commands.SignOut(C, activity.id, "r-alice", SignInMethod.STAFF_CONFIRMED, actor=STAFF),
            make_uow(),
            Everyone(),
            clock,
        )
    served = commands.RecordServed(C, session.id, ("r-grandma",), actor=STAFF)
    stored = sessions.record_served(served, make_uow(), Everyone(), clock)
    assert (
        sessions.get_session(STAFF, C, session.id, make_uow()).served
        == stored.served
        == ("r-grandma",)
    )
    rate = commands.RateSession(C, session.id, 5, actor=_person("r-grandma"))
    ratings.rate_session(rate, make_uow(), clock)

    with pytest.raises(AlreadyExists):
        ratings.rate_session(rate, make_uow(), clock)

    promoted = leads.get_project_lead(STAFF, C, lead.id, make_uow())
    assert (promoted.status, len(promoted.runs)) == (LeadStatus.PROMOTED, 4)
    assert _outbox_types(database).count("ProjectLeadPromoted") == 1
    assert _outbox_types(database)[-1] == "SessionRated"


def test_a_sign_out_where_nobody_leads_is_five_statements(database) -> None:
    """The claim, the activity read with the resident's lock, the sessions read locked, the
    session's update, then the result and the event in one: no look for a lead."""
    plumbing = sql_plumbing(database, orm.runtime, "attendance.events", events.encode)
    make_uow = sql_uow_factory(plumbing)
    clock = Clock(START)
    activity = _plan(make_uow, clock)
    _sign_in_alice(make_uow, activity.id, clock)
    clock.now += HOUR
    with statement_kinds(plumbing.engine) as statements:
        sessions.sign_out(
            commands.SignOut(
                C,
                activity.id,
                "r-alice",
                SignInMethod.STAFF_CONFIRMED,
                request_id="q1",
                actor=STAFF,
            ),
            make_uow(),
            Everyone(),
            clock,
        )
    plumbing.engine.dispose()

    assert statements == ["INSERT", "SELECT", "SELECT", "UPDATE", "WITH"]


def test_migration_0002_backfills_windows_of_existing_sessions(make_database) -> None:
    url = make_database("attendance")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0001")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO activities VALUES ('c-east', 'a1', 'Old', 'regular', 'routine', "
                ":start, :end, :start)"
            ),
            {"start": START, "end": START + 2 * HOUR},
        )
        connection.execute(
            sa.text(
                "INSERT INTO sessions VALUES ('c-east', 's1', 'a1', 'r-alice', "
                "'staff_confirmed', 'r-staff', :start, :out, 3600)"
            ),
            {"start": START, "out": START + HOUR},
        )

    command.upgrade(config, "head")

    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT window_starts_at, window_ends_at, status, completed_at FROM sessions")
        ).one()
    engine.dispose()
    assert tuple(row) == (START, START + 2 * HOUR, "completed", START + HOUR)


def test_a_paper_sheet_session_is_stored_completed_with_its_reason(make_uow, database) -> None:
    clock = Clock(START + 30 * HOUR)
    activity = _plan(make_uow, clock)
    command = commands.EnterPaperSession(
        C, activity.id, "r-alice", START, START + HOUR, "the kiosk was down", actor=STAFF
    )

    entered = sessions.enter_paper_session(command, make_uow(), Everyone(), clock)

    stored = sessions.get_session(STAFF, C, entered.id, make_uow())
    assert (stored.status, stored.duration_seconds) == (SessionStatus.COMPLETED, 3600)
    assert (stored.sign_in_proof.method, stored.paper_sheet_reason) == (
        SignInMethod.PAPER_SHEET,
        "the kiosk was down",
    )
    assert sweeps.close_forgotten_sessions(make_uow(), clock()) == 0
    assert _outbox_types(database)[-1] == "SessionCompleted"


def test_migration_0003_calls_the_daily_cap_flags_time_cap(make_database) -> None:
    url = make_database("attendance")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0002")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO flags (community_id, id, kind, reason, resident_id, activity_id, "
                "raised_at) VALUES ('c-east', 'f1', 'daily_cap', 'cut', 'r-alice', 'a1', :at)"
            ),
            {"at": START},
        )

    command.upgrade(config, "head")

    with engine.connect() as connection:
        kind = connection.execute(sa.text("SELECT kind FROM flags")).scalar_one()
    engine.dispose()
    assert kind == "time_cap"


def test_the_reports_are_grouped_in_postgresql_as_the_rules_say(make_uow) -> None:
    scenario = load_beside(UNIT, "report_scenario.py", "linli_attendance_report_scenario")
    expected = load_beside(UNIT, "test_reports.py", "linli_attendance_report_tests")
    scenario.store(make_uow())
    in_2025 = Clock(datetime(2025, 6, 1, tzinfo=UTC))
    year, hours = reports.report_served_hours(STAFF, C, 2025, make_uow(), in_2025)
    assert (year, hours) == (2025, expected.EXPECTED_HOURS)
    found, more, summaries = reports.list_ratings(STAFF, C, None, 2025, 0, 2, make_uow(), in_2025)
    assert [(r.session_id, r.stars, r.volunteer_id, r.activity_title) for r in found] == [
        ("s2", 3, "r-bob", "楼道清扫"),
        ("s4", 4, "r-alice", "社区义诊"),
    ]
    assert more and summaries == expected.EXPECTED_SUMMARIES
    one, _, of_one = reports.list_ratings(STAFF, C, "a-clinic", 2025, 0, 10, make_uow(), in_2025)
    assert [r.session_id for r in one] == ["s4"] and of_one[0].count == 1
