"""Rosters: who is expected at one occurrence of an activity (A1, issue #19).

- **Why.** A kiosk bound to an activity identifies a face only among the roster of the
  occurrence it signs in to, never the whole community: a 1:N search over thousands of
  residents names the wrong person far too often, one over the few dozen expected does not.
  Anyone not on the roster signs in with the QR code or PIN, or by staff confirmation.
- **Who is on it.** Volunteers registered or assigned to the occurrence, and its staff.
- **Who puts them there.** The community's staff put anyone on it, as a volunteer or as
  staff. A resident signs themself up as a volunteer (never as staff) while the activity is
  open, the occurrence has not ended and its volunteers are fewer than the activity's
  capacity (0: no limit); staff may assign beyond the capacity (stand-ins), since the
  capacity is enforced again at sign-in. The training service puts the residents enrolled
  in a course session on the roster of that session's activity.
- **Who takes them off.** Staff, the training service, or the resident themself. A removed
  entry is kept (with when it was removed) and may be added again.
- **Bound.** At most MAX_ROSTER people an occurrence: it bounds the face search of one burst.
- Adding someone already on the roster changes nothing and answers with their entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from linli_attendance.domain.activities import Activity, Window
from linli_kit.errors import FailedPrecondition, InvalidArgument, NotFound

MAX_ROSTER = 1000


class RosterRole(StrEnum):
    """What a person on a roster is there as."""

    VOLUNTEER = "volunteer"
    STAFF = "staff"


class RosterFull(FailedPrecondition):
    """The occurrence's roster (or its volunteers' capacity) is full."""


@dataclass(frozen=True)
class RosterEntry:
    """One person expected at one occurrence of an activity."""

    community_id: str
    activity_id: str
    occurrence_starts_at: datetime
    resident_id: str
    role: RosterRole
    added_by: str
    added_at: datetime
    removed_at: datetime | None = None

    @property
    def current(self) -> bool:
        """Whether the person is on the roster now (not taken off)."""
        return self.removed_at is None

    def remove(self, at: datetime) -> RosterEntry:
        """The entry taken off the roster."""
        if not self.current:
            raise NotFound("the resident is not on this occurrence's roster")
        return replace(self, removed_at=at)


def occurrence(activity: Activity, starts_at: datetime | None) -> Window:
    """The occurrence starting at the time; unset means the only one of a one-off activity."""
    windows = activity.occurrences()
    if starts_at is None:
        if len(windows) != 1:
            raise InvalidArgument(
                "occurrence_start_time is required for an activity that runs more than once"
            )
        return windows[0]
    for window in windows:
        if window.starts_at == starts_at:
            return window
    raise InvalidArgument(
        f"{starts_at.isoformat()} is not the start of an occurrence of {activity.name}"
    )


def put_on(
    activity: Activity,
    window: Window,
    roster: Sequence[RosterEntry],
    resident_id: str,
    role: RosterRole,
    added_by: str,
    at: datetime,
    *,
    by_staff: bool,
) -> RosterEntry:
    """A new entry on the occurrence's current roster, or refused (see the module rules)."""
    activity.check_open()
    if window.ends_at <= at:
        raise FailedPrecondition("the occurrence is over: nobody can be put on its roster")
    if len(roster) >= MAX_ROSTER:
        raise RosterFull(f"the roster holds at most {MAX_ROSTER} people")
    if not by_staff:
        volunteers = sum(entry.role is RosterRole.VOLUNTEER for entry in roster)
        if activity.capacity and volunteers >= activity.capacity:
            raise RosterFull(f"the occurrence already has its {activity.capacity} volunteers")
    return RosterEntry(
        community_id=activity.community_id,
        activity_id=activity.id,
        occurrence_starts_at=window.starts_at,
        resident_id=resident_id,
        role=role,
        added_by=added_by,
        added_at=at,
    )
