"""Relatives declared in other communities, on SQLAlchemy Core (a person key, never a phone)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linli_identity.adapters.orm import resident_relatives as R
from linli_identity.domain.relatives import Relation, Relative, RelativeState
from linli_identity.service_layer.ports import Relatives


def _relative(row: Any) -> Relative:
    return Relative(
        community_id=row.community_id,
        resident_id=row.resident_id,
        id=row.id,
        person_key=row.person_key,
        relation=Relation(row.relation),
        display_label=row.display_label,
        phone_hint=row.phone_hint,
        state=RelativeState(row.state),
        created_at=row.created_at,
        declared_by=row.declared_by,
        confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by,
        removed_at=row.removed_at,
    )


class SqlRelatives(Relatives):
    """The resident_relatives table."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def add(self, relative: Relative) -> None:
        """Store a newly declared relative."""
        self.session.execute(
            sa.insert(R).values(
                community_id=relative.community_id,
                resident_id=relative.resident_id,
                id=relative.id,
                person_key=relative.person_key,
                relation=relative.relation.value,
                display_label=relative.display_label,
                phone_hint=relative.phone_hint,
                state=relative.state.value,
                created_at=relative.created_at,
                declared_by=relative.declared_by,
            )
        )

    def get(self, community_id: str, resident_id: str, relative_id: str) -> Relative | None:
        """A relative of a resident, locked for update, or None."""
        row = self.session.execute(
            sa.select(R)
            .where(R.c.community_id == community_id, R.c.resident_id == resident_id)
            .where(R.c.id == relative_id)
            .with_for_update()
        ).first()
        return None if row is None else _relative(row)

    def save(self, relative: Relative) -> None:
        """Store a relative's state."""
        self.session.execute(
            sa.update(R)
            .where(R.c.community_id == relative.community_id, R.c.id == relative.id)
            .where(R.c.resident_id == relative.resident_id)
            .values(
                state=relative.state.value,
                confirmed_at=relative.confirmed_at,
                confirmed_by=relative.confirmed_by,
                removed_at=relative.removed_at,
            )
        )

    def list(
        self,
        community_id: str,
        resident_id: str | None,
        state: RelativeState | None,
        offset: int,
        limit: int,
    ) -> list[Relative]:
        """Relatives not removed, of one resident or (None) of all, oldest first."""
        query = sa.select(R).where(
            R.c.community_id == community_id, R.c.state != RelativeState.REMOVED.value
        )
        if resident_id is not None:
            query = query.where(R.c.resident_id == resident_id)
        if state is not None:
            query = query.where(R.c.state == state.value)
        rows = self.session.execute(
            query.order_by(R.c.created_at, R.c.id).offset(offset).limit(limit)
        )
        return [_relative(r) for r in rows]
