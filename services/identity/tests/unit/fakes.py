"""In-memory fakes of the identity ports; repositories store snapshots, as a database would."""

from __future__ import annotations

import dataclasses

from linli_identity.domain.residents import Community, Resident
from linli_identity.service_layer.ports import Communities, IdentityUnitOfWork, Residents
from linli_kit.domain import DomainEvent, Repository
from linli_kit.fakes import InMemoryInbox, InMemoryRequestLog


class FakeCommunities(Communities):
    """Communities in a dict by id."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Community] = {}

    def add(self, community: Community) -> None:
        """Store a new community."""
        self.rows[community.id] = dataclasses.replace(community, events=[])
        self._track(community)

    def get(self, community_id: str) -> Community | None:
        """A community by id, or None."""
        row = self.rows.get(community_id)
        return None if row is None else self._track(dataclasses.replace(row))


class FakeResidents(Residents):
    """Residents in a dict by (community, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Resident] = {}

    def add(self, resident: Resident) -> None:
        """Store a new resident."""
        self.rows[(resident.community_id, resident.id)] = dataclasses.replace(resident, events=[])
        self._track(resident)

    def get(self, community_id: str, resident_id: str) -> Resident | None:
        """A resident by id, or None."""
        row = self.rows.get((community_id, resident_id))
        return None if row is None else self._track(dataclasses.replace(row))

    def by_phone(self, community_id: str, phone: str) -> Resident | None:
        """The resident with this phone number in the community, or None."""
        found = [
            r for r in self.rows.values() if r.community_id == community_id and r.phone == phone
        ]
        return self._track(dataclasses.replace(found[0])) if found else None

    def list(self, community_id: str, offset: int, limit: int) -> list[Resident]:
        """Residents of a community, oldest first."""
        rows = sorted(
            (r for r in self.rows.values() if r.community_id == community_id),
            key=lambda r: (r.created_at, r.id),
        )
        return [dataclasses.replace(r) for r in rows[offset : offset + limit]]


class FakeIdentityUnitOfWork(IdentityUnitOfWork):
    """Unit of work whose commit publishes the collected events into a list."""

    def __init__(self) -> None:
        self.communities = FakeCommunities()
        self.residents = FakeResidents()
        self.requests = InMemoryRequestLog()
        self.inbox = InMemoryInbox()
        self.committed = False
        self.published: list[DomainEvent] = []

    def repositories(self) -> list[Repository]:
        """The faked repositories; face consents and templates have fakes of their own."""
        return [self.communities, self.residents]

    def commit(self) -> None:
        """Mark the work committed and publish the events it raised."""
        self.committed = True
        self.published.extend(self.collect_new_events())

    def rollback(self) -> None:
        """Nothing to undo in memory; tests look at `committed` instead."""
