"""What the identity use cases need from the outside world."""

from __future__ import annotations

import abc

from linli_kit.domain import AbstractUnitOfWork, Repository

from linli_identity.domain.residents import Community, Resident


class Communities(Repository, abc.ABC):
    """Stored communities."""

    @abc.abstractmethod
    def add(self, community: Community) -> None:
        """Store a new community."""

    @abc.abstractmethod
    def get(self, community_id: str) -> Community | None:
        """A community by id, or None."""


class Residents(Repository, abc.ABC):
    """Stored residents."""

    @abc.abstractmethod
    def add(self, resident: Resident) -> None:
        """Store a new resident."""

    @abc.abstractmethod
    def get(self, community_id: str, resident_id: str) -> Resident | None:
        """A resident by id, or None."""

    @abc.abstractmethod
    def by_phone(self, community_id: str, phone: str) -> Resident | None:
        """The resident with this phone number in the community, or None."""

    @abc.abstractmethod
    def list(self, community_id: str, offset: int, limit: int) -> list[Resident]:
        """Residents of a community, oldest first."""


class IdentityUnitOfWork(AbstractUnitOfWork, abc.ABC):
    """A unit of work over communities and residents."""

    communities: Communities
    residents: Residents

    def repositories(self) -> list[Repository]:
        """The repositories whose aggregates may raise events."""
        return [self.communities, self.residents]
