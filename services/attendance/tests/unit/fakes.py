"""In-memory fakes of the attendance ports; repositories store snapshots, as a database would."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from linli_attendance.domain.activities import Activity, FaceMatch, ServiceType, Session
from linli_attendance.domain.leads import ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.reports import (
    RatingLine,
    ServedHours,
    counted_as,
    month_of,
)
from linli_attendance.domain.review import Flag, FlagKind
from linli_attendance.domain.roster import RosterEntry
from linli_attendance.service_layer.ports import (
    Activities,
    AttendanceUnitOfWork,
    Flags,
    LivenessChallenge,
    ProjectLeads,
    Ratings,
    Reports,
    Rosters,
    Sessions,
)
from linli_kit.domain import DomainEvent
from linli_kit.errors import DomainError, NotFound
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog
from linli_kit.principals import Kind, Principal, Role


def person(resident: str, *roles: str, community: str = "c-east") -> Principal:
    """A signed-in person of the community holding the roles."""
    name = f"communities/{community}/residents/{resident}"
    return Principal(Kind.PERSON, name, community, frozenset(roles))


# The social worker r-staff of c-east, who signs volunteers in and reviews their sessions.
STAFF = person("r-staff", Role.SOCIAL_WORKER)


def _snapshot(session: Session) -> Session:
    return dataclasses.replace(session, events=[], corrections=list(session.corrections))


class FakeActivities(Activities):
    """Activities in a dict by (community, id); each read says whether anyone applied to lead
    it, from the applications given."""

    def __init__(self, leads: FakeProjectLeads) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Activity] = {}
        self.leads = leads

    def _read(self, activity: Activity) -> Activity:
        led = any(
            (lead.community_id, lead.activity_id) == (activity.community_id, activity.id)
            for lead in self.leads.rows.values()
        )
        return dataclasses.replace(activity, led=led)

    def add(self, activity: Activity) -> None:
        """Store a new activity."""
        self.rows[(activity.community_id, activity.id)] = dataclasses.replace(activity, events=[])

    def get(self, community_id: str, activity_id: str, lock_resident: str = "") -> Activity | None:
        """An activity by id, or None (nothing runs concurrently in memory: no lock)."""
        row = self.rows.get((community_id, activity_id))
        return None if row is None else self._read(row)

    def list(self, community_id: str, offset: int, limit: int) -> list[Activity]:
        """A community's activities by start time."""
        rows = sorted(
            (a for a in self.rows.values() if a.community_id == community_id),
            key=lambda a: (a.starts_at, a.id),
        )
        return [self._read(a) for a in rows[offset : offset + limit]]

    def save(self, activity: Activity) -> None:
        """Store an activity's closing."""
        self.rows[(activity.community_id, activity.id)] = dataclasses.replace(activity, events=[])


class FakeSessions(Sessions):
    """Sessions in a dict by (community, id); changes are stored only when saved."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Session] = {}

    def _found(self, sessions: Sequence[Session]) -> list[Session]:
        return [_snapshot(s) for s in sorted(sessions, key=lambda s: s.signed_in_at)]

    def add(self, session: Session) -> None:
        """Store a new (open) session."""
        self.rows[(session.community_id, session.id)] = _snapshot(session)

    def get(self, community_id: str, session_id: str) -> Session | None:
        """A session by id, or None."""
        row = self.rows.get((community_id, session_id))
        return None if row is None else _snapshot(row)

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
        return _snapshot(found[0]) if found else None

    def of_resident(
        self,
        community_id: str,
        resident_id: str,
        since: datetime,
        until: datetime,
        lock: bool = False,
    ) -> list[Session]:
        """The resident's sessions whose time (open ones: from sign-in on) meets [since, until)
        (locking means nothing in memory)."""
        return self._found(
            [
                s
                for s in self.rows.values()
                if (s.community_id, s.resident_id) == (community_id, resident_id)
                and s.overlaps(since, until)
            ]
        )

    def at_occurrence(
        self, community_id: str, activity_id: str, window_start: datetime
    ) -> list[Session]:
        """Every session signed in to one occurrence of an activity."""
        return self._found(
            [
                s
                for s in self.rows.values()
                if (s.community_id, s.activity_id) == (community_id, activity_id)
                and s.window.starts_at == window_start
            ]
        )

    def forgotten(self, window_ended_before: datetime, limit: int) -> list[Session]:
        """Open sessions whose occurrence ended before the time."""
        return self._found(
            [
                s
                for s in self.rows.values()
                if s.signed_out_at is None and s.window.ends_at < window_ended_before
            ]
        )[:limit]

    def save(self, session: Session) -> None:
        """Store a session's changes and corrections."""
        self.rows[(session.community_id, session.id)] = _snapshot(session)


class FakeFlags(Flags):
    """Flags in a dict by (community, id)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Flag] = {}

    def add(self, flag: Flag) -> None:
        """Store a new flag."""
        self.rows[(flag.community_id, flag.id)] = dataclasses.replace(flag)

    def get(self, community_id: str, flag_id: str) -> Flag | None:
        """A flag by id, or None."""
        row = self.rows.get((community_id, flag_id))
        return None if row is None else dataclasses.replace(row)

    def page(
        self,
        community_id: str,
        open_only: bool,
        offset: int,
        limit: int,
        about: str | None = None,
        kinds: frozenset[FlagKind] | None = None,
    ) -> list[Flag]:
        """A community's flags, newest first (only those about a resident, of some kinds)."""
        rows = sorted(
            (
                f
                for f in self.rows.values()
                if f.community_id == community_id
                and not (open_only and f.resolved_at)
                and about in (None, f.resident_id)
                and (kinds is None or f.kind in kinds)
            ),
            key=lambda f: f.raised_at,
            reverse=True,
        )
        return [dataclasses.replace(f) for f in rows[offset : offset + limit]]

    def open_for_session(self, community_id: str, session_id: str) -> list[Flag]:
        """The unresolved flags of one session."""
        return [
            dataclasses.replace(f)
            for f in self.rows.values()
            if (f.community_id, f.session_id) == (community_id, session_id)
            and f.resolved_at is None
        ]

    def save(self, flag: Flag) -> None:
        """Store a flag's resolution."""
        self.rows[(flag.community_id, flag.id)] = dataclasses.replace(flag)


class FakeRatings(Ratings):
    """Ratings in a dict by (community, session, rater)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str, str], Rating] = {}

    def add(self, rating: Rating) -> None:
        """Store a new rating."""
        key = (rating.community_id, rating.session_id, rating.rated_by)
        self.rows[key] = dataclasses.replace(rating, events=[])

    def get(self, community_id: str, session_id: str, rated_by: str) -> Rating | None:
        """One resident's rating of a session, or None."""
        row = self.rows.get((community_id, session_id, rated_by))
        return None if row is None else dataclasses.replace(row)


class FakeProjectLeads(ProjectLeads):
    """Applications to lead in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], ProjectLead] = {}

    def add(self, lead: ProjectLead) -> None:
        """Store a new application."""
        self.rows[(lead.community_id, lead.id)] = dataclasses.replace(lead, events=[])

    def get(self, community_id: str, lead_id: str) -> ProjectLead | None:
        """An application by id, or None."""
        row = self.rows.get((community_id, lead_id))
        return None if row is None else dataclasses.replace(row)

    def find(self, community_id: str, activity_id: str, resident_id: str) -> ProjectLead | None:
        """The resident's application to lead the activity, or None."""
        found = [
            lead
            for lead in self.rows.values()
            if (lead.community_id, lead.activity_id, lead.resident_id)
            == (community_id, activity_id, resident_id)
        ]
        return dataclasses.replace(found[0]) if found else None

    def save(self, lead: ProjectLead) -> None:
        """Store an application's changes."""
        self.rows[(lead.community_id, lead.id)] = dataclasses.replace(lead, events=[])


class FakeRosters(Rosters):
    """Roster entries keyed as the table's primary key."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, datetime, str], RosterEntry] = {}

    def get(
        self, community_id: str, activity_id: str, starts_at: datetime, resident_id: str
    ) -> RosterEntry | None:
        """A resident's entry (current or removed), or None."""
        return self.rows.get((community_id, activity_id, starts_at, resident_id))

    def current(
        self, community_id: str, activity_id: str, starts_at: datetime, lock: bool = False
    ) -> list[RosterEntry]:
        """The current roster in the order people were put on it."""
        found = [
            e
            for key, e in self.rows.items()
            if key[:3] == (community_id, activity_id, starts_at) and e.current
        ]
        return sorted(found, key=lambda e: (e.added_at, e.resident_id))

    def page(
        self,
        community_id: str,
        activity_id: str,
        starts_at: datetime,
        offset: int,
        limit: int,
        resident_id: str | None = None,
    ) -> list[RosterEntry]:
        """A page of the current roster; only one resident's entry if named."""
        found = self.current(community_id, activity_id, starts_at)
        if resident_id is not None:
            found = [e for e in found if e.resident_id == resident_id]
        return found[offset : offset + limit]

    def put(self, entry: RosterEntry) -> None:
        """Store an entry, replacing the resident's earlier one."""
        key = (entry.community_id, entry.activity_id, entry.occurrence_starts_at, entry.resident_id)
        self.rows[key] = entry


class FakeReports(Reports):
    """The reports computed in Python over the other fakes' rows, by the domain's rules."""

    def __init__(
        self, activities: FakeActivities, sessions: FakeSessions, ratings: FakeRatings
    ) -> None:
        self.stored = (activities, sessions, ratings)

    def served_hours(
        self, community_id: str, month_starts: Sequence[datetime]
    ) -> list[ServedHours]:
        """Served and held hours per month and service type, by month then type."""
        activities, sessions, _ = self.stored
        found: dict[tuple[int, ServiceType], list[Session]] = {}
        for (community, _), s in sessions.rows.items():
            kind = activities.rows[(community, s.activity_id)].service_type
            month = month_of(s.signed_in_at, month_starts)
            if community == community_id and month and counted_as(s.status, kind):
                found.setdefault((month, kind), []).append(s)
        order = list(ServiceType)
        rows = []
        for (month, kind), group in sorted(
            found.items(), key=lambda i: (i[0][0], order.index(i[0][1]))
        ):
            served = [s for s in group if counted_as(s.status, kind) == "served"]
            held = [s for s in group if counted_as(s.status, kind) == "held"]
            rows.append(
                ServedHours(
                    month,
                    kind,
                    sum(s.duration_seconds for s in served),
                    len(served),
                    len({s.resident_id for s in served}),
                    sum(s.duration_seconds for s in held),
                    len(held),
                )
            )
        return rows

    def _lines(
        self, community_id: str, since: datetime, until: datetime, activity_id: str | None
    ) -> list[RatingLine]:
        activities, sessions, ratings = self.stored
        lines = []
        for (community, session_id, _), r in ratings.rows.items():
            s = sessions.rows[(community, session_id)]
            a = activities.rows[(community, s.activity_id)]
            if community != community_id or not since <= r.rated_at < until:
                continue
            if activity_id is not None and s.activity_id != activity_id:
                continue
            lines.append(
                RatingLine(
                    community,
                    a.id,
                    s.id,
                    a.title,
                    a.service_type,
                    s.resident_id,
                    r.rated_by,
                    r.stars,
                    r.rated_at,
                )
            )
        return sorted(lines, key=lambda x: (-x.rated_at.timestamp(), x.session_id, x.rated_by))

    def ratings(
        self,
        community_id: str,
        since: datetime,
        until: datetime,
        activity_id: str | None,
        offset: int,
        limit: int,
    ) -> list[RatingLine]:
        """A page of the ratings, newest first."""
        return self._lines(community_id, since, until, activity_id)[offset : offset + limit]

    def rating_stars(
        self, community_id: str, since: datetime, until: datetime, activity_id: str | None
    ) -> list[tuple[ServiceType, int, int]]:
        """How many ratings gave each number of stars, per service type."""
        counts: dict[tuple[ServiceType, int], int] = {}
        for line in self._lines(community_id, since, until, activity_id):
            key = (line.service_type, line.stars)
            counts[key] = counts.get(key, 0) + 1
        return [(kind, stars, n) for (kind, stars), n in counts.items()]


class FakeAttendanceUnitOfWork(AttendanceUnitOfWork):
    """Unit of work whose commit publishes the collected events into a list."""

    def __init__(self) -> None:
        self.leads = FakeProjectLeads()
        self.activities = FakeActivities(self.leads)
        self.sessions = FakeSessions()
        self.flags = FakeFlags()
        self.ratings = FakeRatings()
        self.rosters = FakeRosters()
        self.reports = FakeReports(self.activities, self.sessions, self.ratings)
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


class FakeFaceIdentifier:
    """Identity's open-set search: a burst whose first frame names a resident, or a refusal.

    Like identity, it names only one of the candidates: anyone else is nobody (NotFound).
    """

    def __init__(self, match: FaceMatch, refusal: DomainError | None = None) -> None:
        self.match, self.refusal = match, refusal
        self.calls: list[tuple[str, tuple[str, ...], int, LivenessChallenge]] = []

    def identify(
        self,
        community_id: str,
        candidates: Sequence[str],
        frames: Sequence[bytes],
        challenge: LivenessChallenge,
    ) -> tuple[str, FaceMatch]:
        """The resident named by the first frame, with the set decision record."""
        self.calls.append((community_id, tuple(candidates), len(frames), challenge))
        if self.refusal is not None:
            raise self.refusal
        resident = frames[0].decode()
        if resident not in candidates:
            raise NotFound("no enrolled resident among those expected matches this face")
        return resident, self.match


class FixedClock:
    """A clock that shows a set time until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The set time."""
        return self.now
