"""What the attendance use cases need from the outside world."""

from __future__ import annotations

import abc
from typing import Protocol

from linli_attendance.domain.activities import Activity, Session
from linli_kit.domain import AbstractUnitOfWork, Repository


class ResidentDirectory(Protocol):
    """Asks the identity service about residents."""

    def exists(self, community_id: str, resident_id: str) -> bool:
        """Whether the resident is registered; raises Unavailable if identity cannot say."""
        ...


class Activities(Repository, abc.ABC):
    """Stored activities."""

    @abc.abstractmethod
    def add(self, activity: Activity) -> None:
        """Store a new activity."""

    @abc.abstractmethod
    def get(self, community_id: str, activity_id: str) -> Activity | None:
        """An activity by id, or None."""

    @abc.abstractmethod
    def list(self, community_id: str, offset: int, limit: int) -> list[Activity]:
        """A community's activities by start time."""


class Sessions(Repository, abc.ABC):
    """Stored sessions."""

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
    def save(self, session: Session) -> None:
        """Store a session's sign-out."""


class AttendanceUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over activities and sessions."""

    activities: Activities
    sessions: Sessions

    def repositories(self) -> list[Repository]:
        """The repositories whose aggregates may raise events."""
        return [self.activities, self.sessions]
