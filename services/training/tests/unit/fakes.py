"""Test doubles for the training service: attendance as dicts of activities, a clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from linli_kit.errors import Unavailable
from linli_kit.principals import Kind, Principal, Role
from linli_training.domain.sessions import CourseSession

C = "c-east"


def person(resident: str, *roles: str, community: str = C) -> Principal:
    """A signed-in person of the community."""
    return Principal(
        Kind.PERSON, f"communities/{community}/residents/{resident}", community, frozenset(roles)
    )


ALICE, BOB = person("r-alice"), person("r-bob")
STAFF = person("r-staff", Role.SOCIAL_WORKER)
GRID_HEAD = person("r-grid", Role.GRID_HEAD)


@dataclass
class FixedClock:
    """A clock that tells the time it is set to."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeAttendance:
    """Attendance planning and closing activities idempotently by request id, or not answering."""

    planned: dict[str, str] = field(default_factory=dict)
    closed: dict[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    rosters: dict[str, list[str]] = field(default_factory=dict)
    down: bool = False

    def plan(self, session: CourseSession, title: str, request_id: str) -> str:
        """The activity id for the request id, new the first time."""
        if self.down:
            raise Unavailable("attendance service did not answer: UNAVAILABLE")
        return self.planned.setdefault(request_id, f"a{len(self.planned):031d}")

    def close(
        self, session: CourseSession, request_id: str, caller: Sequence[tuple[str, str]]
    ) -> None:
        """Close the activity once, remembering who asked; a retry finds it closed."""
        if self.down:
            raise Unavailable("attendance service did not answer: UNAVAILABLE")
        self.closed.setdefault(session.activity_id, tuple(caller))

    def put_on_roster(self, session: CourseSession, resident_id: str, request_id: str) -> None:
        """Put the resident on the activity's roster (once)."""
        if self.down:
            raise Unavailable("attendance service did not answer: UNAVAILABLE")
        roster = self.rosters.setdefault(session.activity_id, [])
        if resident_id not in roster:
            roster.append(resident_id)

    def take_off_roster(self, session: CourseSession, resident_id: str, request_id: str) -> None:
        """Take the resident off the activity's roster, if on it."""
        if self.down:
            raise Unavailable("attendance service did not answer: UNAVAILABLE")
        roster = self.rosters.get(session.activity_id, [])
        if resident_id in roster:
            roster.remove(resident_id)
