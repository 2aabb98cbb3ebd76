"""Identity repositories on SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from linli_kit.db import SqlUnitOfWork
from sqlalchemy.orm import Session

from linli_identity.adapters.orm import communities, residents
from linli_identity.domain.residents import Community, Resident
from linli_identity.service_layer.ports import Communities, IdentityUnitOfWork, Residents


class SqlCommunities(Communities):
    """Communities table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, community: Community) -> None:
        """Store a new community."""
        self.session.execute(sa.insert(communities).values(
            id=community.id, display_name=community.display_name, created_at=community.created_at
        ))
        self._track(community)

    def get(self, community_id: str) -> Community | None:
        """A community by id, or None."""
        row = self.session.execute(
            sa.select(communities).where(communities.c.id == community_id)
        ).first()
        return None if row is None else Community(**row._asdict())


class SqlResidents(Residents):
    """Residents table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, resident: Resident) -> None:
        """Store a new resident."""
        self.session.execute(sa.insert(residents).values(
            community_id=resident.community_id, id=resident.id,
            display_name=resident.display_name, phone=resident.phone,
            org_unit=resident.org_unit, created_at=resident.created_at,
        ))
        self._track(resident)

    def _one(self, *where: Any) -> Resident | None:
        row = self.session.execute(sa.select(residents).where(*where)).first()
        return None if row is None else Resident(**row._asdict())

    def get(self, community_id: str, resident_id: str) -> Resident | None:
        """A resident by id, or None."""
        return self._one(residents.c.community_id == community_id, residents.c.id == resident_id)

    def by_phone(self, community_id: str, phone: str) -> Resident | None:
        """The resident with this phone number in the community, or None."""
        return self._one(residents.c.community_id == community_id, residents.c.phone == phone)

    def list(self, community_id: str, offset: int, limit: int) -> list[Resident]:
        """Residents of a community, oldest first."""
        rows = self.session.execute(
            sa.select(residents).where(residents.c.community_id == community_id)
            .order_by(residents.c.created_at, residents.c.id).offset(offset).limit(limit)
        ).all()
        return [Resident(**row._asdict()) for row in rows]


class SqlIdentityUnitOfWork(SqlUnitOfWork, IdentityUnitOfWork):
    """Identity unit of work on SQLAlchemy."""

    def open_repositories(self, session: Session) -> None:
        """Create the repositories on the session."""
        self.communities = SqlCommunities(session)
        self.residents = SqlResidents(session)
