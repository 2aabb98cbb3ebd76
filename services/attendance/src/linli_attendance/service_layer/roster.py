"""Use cases of rosters (A1, issue #19): who is expected at an occurrence, whom a kiosk knows."""

from __future__ import annotations

from datetime import datetime

from linli_attendance.domain import access, roster
from linli_attendance.domain.roster import RosterEntry
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.commands import AddRosterEntry, RemoveRosterEntry
from linli_attendance.service_layer.ports import AttendanceUnitOfWork, ResidentDirectory
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import FailedPrecondition, NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent

RosterCommand = AddRosterEntry | RemoveRosterEntry


def _reference(entry: RosterEntry) -> str:
    return f"{entry.occurrence_starts_at.isoformat()}|{entry.resident_id}"


def _reload(uow: AttendanceUnitOfWork, cmd: RosterCommand, ref: str) -> RosterEntry:
    starts, _, resident_id = ref.partition("|")
    found = uow.rosters.get(
        cmd.community_id, cmd.activity_id, datetime.fromisoformat(starts), resident_id
    )
    if found is None:
        raise FailedPrecondition("the roster entry of this request no longer exists")
    return found


@idempotent(_reload, _reference)
def add_roster_entry(
    cmd: AddRosterEntry,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> RosterEntry:
    """Put a resident on an occurrence's roster: staff or training anyone, a resident themself."""
    keeper = access.roster_keeper(cmd.actor, cmd.community_id, cmd.resident_id)
    if keeper is None:
        access.check_self_sign_up(cmd.role)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id)
    window = roster.occurrence(activity, cmd.occurrence_starts_at)
    lookups.known(residents, cmd.community_id, cmd.resident_id, "resident")
    current = uow.rosters.current(cmd.community_id, activity.id, window.starts_at, lock=True)
    already = next((e for e in current if e.resident_id == cmd.resident_id), None)
    if already is not None:
        return already
    entry = roster.put_on(
        activity,
        window,
        current,
        cmd.resident_id,
        cmd.role,
        keeper or cmd.resident_id,
        clock(),
        by_staff=keeper is not None,
    )
    uow.rosters.put(entry)
    return entry


@idempotent(_reload, _reference)
def remove_roster_entry(
    cmd: RemoveRosterEntry, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> RosterEntry:
    """Take a resident off an occurrence's roster: staff or training, or the resident themself."""
    access.roster_keeper(cmd.actor, cmd.community_id, cmd.resident_id)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id)
    window = roster.occurrence(activity, cmd.occurrence_starts_at)
    entry = uow.rosters.get(cmd.community_id, activity.id, window.starts_at, cmd.resident_id)
    if entry is None:
        raise NotFound("the resident is not on this occurrence's roster")
    removed = entry.remove(clock())
    uow.rosters.put(removed)
    return removed


def list_roster_entries(
    actor: Principal,
    community_id: str,
    activity_id: str,
    starts_at: datetime | None,
    offset: int,
    limit: int,
    uow: AttendanceUnitOfWork,
) -> tuple[list[RosterEntry], bool]:
    """A page of an occurrence's current roster and whether more follow: all of it for its
    keepers, a resident's own entry for them."""
    only = None if access.sees_whole_roster(actor, community_id) else actor.resident_id
    with uow:
        activity = lookups.activity(uow, community_id, activity_id)
        window = roster.occurrence(activity, starts_at)
        entries = uow.rosters.page(
            community_id, activity.id, window.starts_at, offset, limit + 1, only
        )
    return entries[:limit], len(entries) > limit


def expected_at(
    uow: AttendanceUnitOfWork, community_id: str, activity_id: str, at: datetime
) -> tuple[str, ...]:
    """The resident ids on the roster of the occurrence signed in to at the time (may be none)."""
    activity = lookups.activity(uow, community_id, activity_id)
    window = activity.window_at(at)
    if window is None:
        return ()
    return tuple(
        e.resident_id for e in uow.rosters.current(community_id, activity.id, window.starts_at)
    )
