"""What the attendance use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from linli_attendance.domain.activities import Activity, FaceMatch, ServiceType, Session
from linli_attendance.domain.leads import ProjectLead
from linli_attendance.domain.ratings import Rating
from linli_attendance.domain.reports import RatingLine, ServedHours
from linli_attendance.domain.review import Flag, FlagKind
from linli_attendance.domain.roster import RosterEntry
from linli_kit.domain import AbstractUnitOfWork, Repository


class ResidentDirectory(Protocol):
    """Asks the identity service about residents."""

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Whether the resident is registered; raises Unavailable if identity cannot say."""
        ...


class LivenessChallenge(StrEnum):
    """What the person at the kiosk was asked to do while the frames were taken."""

    BLINK = "blink"
    HEAD_TURN = "head_turn"


class FaceIdentifier(Protocol):
    """Asks the identity service who a burst of kiosk frames shows (1:N, with liveness)."""

    def identify(
        self,
        community_id: str,
        candidates: Sequence[str],
        frames: Sequence[bytes],
        challenge: LivenessChallenge,
    ) -> tuple[str, FaceMatch]:
        """Which of the candidate resident ids the burst shows, and the decision record (a close
        call is named with `needs_confirmation`); raises InvalidArgument (unusable burst),
        NotFound (none of them matches), FailedPrecondition (liveness failed) or Unavailable."""
        ...


class Activities(Repository, abc.ABC):
    """Stored activities."""

    @abc.abstractmethod
    def add(self, activity: Activity) -> None:
        """Store a new activity."""

    @abc.abstractmethod
    def get(self, community_id: str, activity_id: str, lock_resident: str = "") -> Activity | None:
        """An activity by id, or None; with `lock_resident`, that resident's sign-ins and
        sign-outs are also held off until this unit of work ends (taken in the same read)."""

    @abc.abstractmethod
    def list(self, community_id: str, offset: int, limit: int) -> list[Activity]:
        """A community's activities by start time."""

    @abc.abstractmethod
    def save(self, activity: Activity) -> None:
        """Store an activity's closing."""


class Sessions(Repository, abc.ABC):
    """Stored sessions with their correction history."""

    @abc.abstractmethod
    def add(self, session: Session) -> None:
        """Store a new (open) session."""

    @abc.abstractmethod
    def get(self, community_id: str, session_id: str) -> Session | None:
        """A session by id, or None."""

    @abc.abstractmethod
    def open_for(
        self, community_id: str, activity_id: str, resident_id: str, lock: bool = False
    ) -> Session | None:
        """The resident's open session at the activity, locked for update if asked."""

    @abc.abstractmethod
    def of_resident(
        self,
        community_id: str,
        resident_id: str,
        since: datetime,
        until: datetime,
        lock: bool = False,
    ) -> list[Session]:
        """The resident's sessions whose time (open ones: from sign-in on) meets [since, until),
        locked for update if asked."""

    @abc.abstractmethod
    def at_occurrence(
        self, community_id: str, activity_id: str, window_start: datetime
    ) -> list[Session]:
        """Every session signed in to one occurrence of an activity."""

    @abc.abstractmethod
    def forgotten(self, window_ended_before: datetime, limit: int) -> list[Session]:
        """Open sessions whose occurrence ended before the time, locked for update."""

    @abc.abstractmethod
    def save(self, session: Session) -> None:
        """Store a session's changes and any new corrections."""


class Flags(abc.ABC):
    """Stored flags."""

    @abc.abstractmethod
    def add(self, flag: Flag) -> None:
        """Store a new flag."""

    @abc.abstractmethod
    def get(self, community_id: str, flag_id: str) -> Flag | None:
        """A flag by id, or None."""

    @abc.abstractmethod
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

    @abc.abstractmethod
    def open_for_session(self, community_id: str, session_id: str) -> list[Flag]:
        """The unresolved flags of one session."""

    @abc.abstractmethod
    def save(self, flag: Flag) -> None:
        """Store a flag's resolution."""


class Ratings(Repository, abc.ABC):
    """Stored ratings."""

    @abc.abstractmethod
    def add(self, rating: Rating) -> None:
        """Store a new rating."""

    @abc.abstractmethod
    def get(self, community_id: str, session_id: str, rated_by: str) -> Rating | None:
        """One resident's rating of a session, or None."""


class ProjectLeads(Repository, abc.ABC):
    """Stored project-lead applications."""

    @abc.abstractmethod
    def add(self, lead: ProjectLead) -> None:
        """Store a new application."""

    @abc.abstractmethod
    def get(self, community_id: str, lead_id: str) -> ProjectLead | None:
        """An application by id, or None."""

    @abc.abstractmethod
    def find(self, community_id: str, activity_id: str, resident_id: str) -> ProjectLead | None:
        """The resident's application to lead the activity, locked for update, or None."""

    @abc.abstractmethod
    def save(self, lead: ProjectLead) -> None:
        """Store an application's approval, runs and promotion."""


class Rosters(abc.ABC):
    """Stored roster entries, removed ones kept."""

    @abc.abstractmethod
    def get(
        self, community_id: str, activity_id: str, starts_at: datetime, resident_id: str
    ) -> RosterEntry | None:
        """A resident's entry on an occurrence's roster (current or removed), or None."""

    @abc.abstractmethod
    def current(
        self, community_id: str, activity_id: str, starts_at: datetime, lock: bool = False
    ) -> list[RosterEntry]:
        """An occurrence's current roster in the order people were put on it; `lock` holds off
        other changes to it until this unit of work ends."""

    @abc.abstractmethod
    def page(
        self,
        community_id: str,
        activity_id: str,
        starts_at: datetime,
        offset: int,
        limit: int,
        resident_id: str | None = None,
    ) -> list[RosterEntry]:
        """A page of an occurrence's current roster in its order; only one resident's entry
        (if they are on it) when `resident_id` is given."""

    @abc.abstractmethod
    def put(self, entry: RosterEntry) -> None:
        """Store an entry, replacing the resident's earlier one on the occurrence."""


class Reports(abc.ABC):
    """Staff's reports, computed where the records are (the rules: `domain.reports`)."""

    @abc.abstractmethod
    def served_hours(
        self, community_id: str, month_starts: Sequence[datetime]
    ) -> list[ServedHours]:
        """Served and held hours per month and service type of the sessions signed in within
        the year whose local months begin at `month_starts` (13 bounds), by month then type."""

    @abc.abstractmethod
    def ratings(
        self,
        community_id: str,
        since: datetime,
        until: datetime,
        activity_id: str | None,
        offset: int,
        limit: int,
    ) -> list[RatingLine]:
        """The ratings given in [since, until), newest first (of one activity, if named)."""

    @abc.abstractmethod
    def rating_stars(
        self, community_id: str, since: datetime, until: datetime, activity_id: str | None
    ) -> list[tuple[ServiceType, int, int]]:
        """(service type, stars, how many) of every rating `ratings` would list."""


class AttendanceUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over activities, sessions, flags, ratings, project leads and rosters,
    and the reports over them."""

    activities: Activities
    sessions: Sessions
    flags: Flags
    ratings: Ratings
    leads: ProjectLeads
    rosters: Rosters
    reports: Reports
