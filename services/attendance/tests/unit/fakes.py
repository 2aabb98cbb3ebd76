"""In-memory fakes of the attendance ports; repositories store snapshots, as a database would."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from linli_attendance.domain.activities import Activity, Session
from linli_attendance.service_layer.ports import Activities, AttendanceUnitOfWork, Sessions
from linli_kit.domain import DomainEvent
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog


class FakeActivities(Activities):
    """Activities in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Activity] = {}

    def add(self, activity: Activity) -> None:
        """Store a new activity."""
        self.rows[(activity.community_id, activity.id)] = dataclasses.replace(activity, events=[])
        self._track(activity)

    def get(self, community_id: str, activity_id: str) -> Activity | None:
        """An activity by id, or None."""
        row = self.rows.get((community_id, activity_id))
        return None if row is None else self._track(dataclasses.replace(row))

    def list(self, community_id: str, offset: int, limit: int) -> list[Activity]:
        """A community's activities by start time."""
        rows = sorted(
            (a for a in self.rows.values() if a.community_id == community_id),
            key=lambda a: (a.starts_at, a.id),
        )
        return [dataclasses.replace(a) for a in rows[offset : offset + limit]]


class FakeSessions(Sessions):
    """Sessions in a dict by (community, id); a sign-out is stored only when saved."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Session] = {}

    def add(self, session: Session) -> None:
        """Store a new (open) session."""
        self.rows[(session.community_id, session.id)] = dataclasses.replace(session, events=[])
        self._track(session)

    def get(self, community_id: str, session_id: str) -> Session | None:
        """A session by id, or None."""
        row = self.rows.get((community_id, session_id))
        return None if row is None else self._track(dataclasses.replace(row))

    def open_for(
        self, community_id: str, activity_id: str, resident_id: str, lock: bool = False
    ) -> Session | None:
        """The resident's open session at the activity (locking means nothing in memory)."""
        found = [
            s
            for s in self.rows.values()
            if (s.community_id, s.activity_id, s.resident_id)
            == (community_id, activity_id, resident_id)
            and s.signed_out_at is None
        ]
        return self._track(dataclasses.replace(found[0])) if found else None

    def save(self, session: Session) -> None:
        """Store a session's sign-out."""
        self.rows[(session.community_id, session.id)] = dataclasses.replace(session, events=[])


class FakeAttendanceUnitOfWork(AttendanceUnitOfWork):
    """Unit of work whose commit publishes the collected events into a list."""

    def __init__(self) -> None:
        self.activities = FakeActivities()
        self.sessions = FakeSessions()
        self.requests = InMemoryRequestLog()
        self.inbox = InMemoryInbox()
        self.committed = False
        self.published: list[DomainEvent] = []

    def commit(self) -> None:
        """Mark the work committed and publish the events it raised."""
        self.committed = True
        self.published.extend(self.collect_new_events())

    def rollback(self) -> None:
        """Nothing to undo in memory; tests look at `committed` instead."""


class FakeResidentDirectory:
    """The residents identity knows of, as (community, resident) pairs."""

    def __init__(self, *known: tuple[str, str]) -> None:
        self.known = set(known)

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Whether the resident is registered."""
        return (community_id, resident_id) in self.known


class FixedClock:
    """A clock that shows a set time until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The set time."""
        return self.now
