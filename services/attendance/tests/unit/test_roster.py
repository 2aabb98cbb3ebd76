"""Rosters on fakes: who puts whom on an occurrence's roster, its bounds, and who sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from linli.attendance.v1 import attendance_service_pb2 as pb

from linli_attendance.domain import roster as rules
from linli_attendance.domain.activities import ScheduleKind, ServiceType
from linli_attendance.domain.roster import RosterRole
from linli_attendance.service_layer import activities, commands, roster
from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from linli_kit.principals import Kind, Principal, Role
from linli_kit.testing import load_beside

fakes = load_beside(__file__, "fakes.py", "linli_attendance_unit_fakes")
START = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
ALICE = fakes.person("r-alice")
TRAINING = Principal(Kind.SERVICE, "training", "c-east")


def _activity(uow, clock, capacity: int = 0, occurrences: int = 1):
    made = activities.create_activity(
        commands.CreateActivity(
            "c-east",
            "Street clean-up",
            ServiceType.PROFESSIONAL,
            ScheduleKind.ROUTINE,
            START,
            START + timedelta(hours=2),
            capacity=capacity,
            occurrence_count=occurrences,
            actor=fakes.STAFF,
        ),
        uow,
        clock,
    )
    uow.committed = False
    return made


def _add(activity, resident="r-alice", by=fakes.STAFF, role=RosterRole.VOLUNTEER, **kw):
    return commands.AddRosterEntry(
        "c-east", activity.id, kw.pop("starts", None), resident, role, actor=by, **kw
    )


def _listed(actor, activity, uow):
    return roster.list_roster_entries(actor, "c-east", activity.id, None, 0, 50, uow)[0]


def test_staff_put_volunteers_and_staff_on_the_roster(uow, clock, directory) -> None:
    activity = _activity(uow, clock)

    roster.add_roster_entry(_add(activity), uow, directory, clock)
    staffed = roster.add_roster_entry(
        _add(activity, "r-staff", role=RosterRole.STAFF), uow, directory, clock
    )

    assert (staffed.role, staffed.added_by, staffed.occurrence_starts_at) == (
        RosterRole.STAFF,
        "r-staff",
        START,
    )
    listed = _listed(fakes.STAFF, activity, uow)
    assert [e.resident_id for e in listed] == ["r-alice", "r-staff"]
    assert roster.expected_at(uow, "c-east", activity.id, START) == ("r-alice", "r-staff")
    assert roster.expected_at(uow, "c-east", activity.id, START + timedelta(days=1)) == ()


def test_a_resident_signs_up_only_themself_and_only_as_a_volunteer(uow, clock, directory) -> None:
    activity = _activity(uow, clock)

    mine = roster.add_roster_entry(_add(activity, by=ALICE), uow, directory, clock)

    assert mine.added_by == "r-alice"
    with pytest.raises(PermissionDenied):
        roster.add_roster_entry(_add(activity, "r-bob", by=ALICE), uow, directory, clock)
    with pytest.raises(PermissionDenied):
        roster.add_roster_entry(
            _add(activity, by=ALICE, role=RosterRole.STAFF), uow, directory, clock
        )
    # A resident sees only their own entry; a core volunteer (kiosk operator) sees the roster.
    roster.add_roster_entry(_add(activity, "r-bob"), uow, directory, clock)
    seen = _listed(ALICE, activity, uow)
    assert [e.resident_id for e in seen] == ["r-alice"]
    core = fakes.person("r-carol", Role.CORE_VOLUNTEER)
    assert len(_listed(core, activity, uow)) == 2


def test_self_sign_up_stops_at_capacity_but_staff_may_assign_stand_ins(
    uow, clock, directory
) -> None:
    activity = _activity(uow, clock, capacity=1)
    roster.add_roster_entry(_add(activity, "r-bob"), uow, directory, clock)

    with pytest.raises(rules.RosterFull):
        roster.add_roster_entry(_add(activity, by=ALICE), uow, directory, clock)
    assert roster.add_roster_entry(_add(activity), uow, directory, clock).resident_id == "r-alice"


def test_training_service_keeps_rosters(uow, clock, directory) -> None:
    activity = _activity(uow, clock, occurrences=3)
    second = START + timedelta(weeks=1)

    entry = roster.add_roster_entry(
        _add(activity, by=TRAINING, starts=second), uow, directory, clock
    )

    assert (entry.added_by, entry.occurrence_starts_at) == ("training", second)
    assert roster.expected_at(uow, "c-east", activity.id, second) == ("r-alice",)
    assert roster.expected_at(uow, "c-east", activity.id, START) == ()
    removed = roster.remove_roster_entry(
        commands.RemoveRosterEntry("c-east", activity.id, second, "r-alice", actor=TRAINING),
        uow,
        clock,
    )
    assert removed.removed_at == clock()
    assert roster.expected_at(uow, "c-east", activity.id, second) == ()


def test_occurrences_are_named_by_their_start(uow, clock, directory) -> None:
    recurring = _activity(uow, clock, occurrences=2)

    with pytest.raises(InvalidArgument, match="required"):
        roster.add_roster_entry(_add(recurring), uow, directory, clock)
    with pytest.raises(InvalidArgument, match="not the start"):
        roster.add_roster_entry(
            _add(recurring, starts=START + timedelta(hours=1)), uow, directory, clock
        )


def test_adding_twice_answers_with_the_entry_and_a_retry_replays(uow, clock, directory) -> None:
    activity = _activity(uow, clock)
    first = roster.add_roster_entry(_add(activity, request_id="r1"), uow, directory, clock)
    clock.now += timedelta(minutes=5)

    again = roster.add_roster_entry(_add(activity, request_id="r2"), uow, directory, clock)
    retried = roster.add_roster_entry(_add(activity, request_id="r1"), uow, directory, clock)

    assert again == first == retried
    assert len(uow.rosters.current("c-east", activity.id, START)) == 1


def test_refusals(uow, clock, directory) -> None:
    activity = _activity(uow, clock)

    with pytest.raises(NotFound):
        roster.add_roster_entry(_add(activity, "r-nobody"), uow, directory, clock)
    with pytest.raises(NotFound):
        roster.remove_roster_entry(
            commands.RemoveRosterEntry("c-east", activity.id, None, "r-bob", actor=fakes.STAFF),
            uow,
            clock,
        )
    with pytest.raises(NotFound):
        roster.add_roster_entry(
            _add(activity, by=fakes.person("r-x", Role.SOCIAL_WORKER, community="c-west")),
            uow,
            directory,
            clock,
        )
    clock.now = START + timedelta(hours=3)
    with pytest.raises(FailedPrecondition, match="over"):
        roster.add_roster_entry(_add(activity), uow, directory, clock)


async def test_pages_of_a_roster_cover_it_once_in_order(uow, clock, directory, stub) -> None:
    activity = _activity(uow, clock)
    for resident in ("r-bob", "r-alice", "r-staff"):
        roster.add_roster_entry(_add(activity, resident), uow, directory, clock)
        clock.now += timedelta(minutes=1)
    name = f"communities/c-east/activities/{activity.id}"

    seen, token = [], ""
    for _ in range(3):
        page = await stub.ListRosterEntries(
            pb.ListRosterEntriesRequest(activity=name, page_size=2, page_token=token)
        )
        seen.append([e.resident.rpartition("/")[2] for e in page.entries])
        token = page.next_page_token
        if not token:
            break

    assert seen == [["r-bob", "r-alice"], ["r-staff"]]
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.ListRosterEntries(
            pb.ListRosterEntriesRequest(activity=name, page_token="not-a-token")
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
