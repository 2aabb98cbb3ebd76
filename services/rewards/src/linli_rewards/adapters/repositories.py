"""Rewards repositories on SQLAlchemy Core; stock, counts and states move by conditional updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as DbSession

from linli_kit.db import SqlUnitOfWork, dialect_insert, insert_once
from linli_kit.errors import AlreadyExists
from linli_rewards.adapters.orm import items, redemption_counts, redemptions
from linli_rewards.adapters.recognition_repositories import (
    SqlBenefits,
    SqlNominations,
    SqlSeatAllocations,
)
from linli_rewards.domain.catalogue import Item, ItemKind
from linli_rewards.domain.redemptions import IN_FLIGHT, Redemption, RedemptionState
from linli_rewards.service_layer.ports import Items, Limits, Redemptions, RewardsUnitOfWork

_ITEM_TERMS = (
    "title",
    "description",
    "kind",
    "price",
    "value_fen",
    "discount_percent",
    "stock",
    "monthly_limit",
    "yearly_limit",
    "sale_starts_at",
    "sale_ends_at",
    "voucher_valid_days",
    "partner_id",
    "retired",
    "created_at",
)


def _item(row: Any) -> Item:
    values = row._asdict()
    values["kind"] = ItemKind(values["kind"])
    return Item(**values)


def _on_sale(at: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        items.c.retired.is_(False),
        sa.or_(items.c.sale_starts_at.is_(None), items.c.sale_starts_at <= at),
        sa.or_(items.c.sale_ends_at.is_(None), items.c.sale_ends_at > at),
    )


class SqlItems(Items):
    """Items table."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, item: Item) -> None:
        """Store a new item; AlreadyExists if its id is taken."""
        values = {name: getattr(item, name) for name in _ITEM_TERMS}
        values["kind"] = item.kind.value
        insert_once(
            self.db,
            sa.insert(items).values(community_id=item.community_id, id=item.id, **values),
            AlreadyExists(f"item {item.id} already exists"),
        )

    def get(self, community_id: str, item_id: str) -> Item | None:
        """An item by id, or None."""
        row = self.db.execute(
            sa.select(items).where(items.c.community_id == community_id, items.c.id == item_id)
        ).first()
        return None if row is None else _item(row)

    def page(
        self, community_id: str, on_sale_at: datetime | None, offset: int, limit: int
    ) -> list[Item]:
        """A community's items by id (only those on sale at the time, if given)."""
        query = sa.select(items).where(items.c.community_id == community_id)
        if on_sale_at is not None:
            query = query.where(_on_sale(on_sale_at))
        rows = self.db.execute(query.order_by(items.c.id).offset(offset).limit(limit)).all()
        return [_item(row) for row in rows]

    def save(self, item: Item) -> None:
        """Store an item's restock or retirement."""
        self.db.execute(
            sa.update(items)
            .where(items.c.community_id == item.community_id, items.c.id == item.id)
            .values(stock=item.stock, retired=item.retired)
        )

    def take_unit(self, community_id: str, item_id: str, at: datetime) -> int | None:
        """Take one unit if one is left and the item is on sale: the units left, else None."""
        left = self.db.execute(
            sa.update(items)
            .where(
                items.c.community_id == community_id,
                items.c.id == item_id,
                items.c.stock > 0,
                _on_sale(at),
            )
            .values(stock=items.c.stock - 1)
            .returning(items.c.stock)
        ).scalar()
        return None if left is None else int(left)

    def return_unit(self, community_id: str, item_id: str) -> None:
        """Put one unit back."""
        self.db.execute(
            sa.update(items)
            .where(items.c.community_id == community_id, items.c.id == item_id)
            .values(stock=items.c.stock + 1)
        )


class SqlLimits(Limits):
    """Redemption counts table: one upsert counts, refused at the limit."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def count(
        self, community_id: str, resident_id: str, item_id: str, period: str, limit: int
    ) -> bool:
        """Count one more redemption unless `limit` (0: none) is reached; True if counted."""
        table = redemption_counts
        key = [table.c.community_id, table.c.resident_id, table.c.item_id, table.c.period]
        upsert = (
            dialect_insert(self.db, table)
            .values(
                community_id=community_id,
                resident_id=resident_id,
                item_id=item_id,
                period=period,
                count=1,
            )
            .on_conflict_do_update(
                index_elements=key,
                set_={"count": table.c.count + 1},
                where=(table.c.count < limit) if limit else None,
            )
            .returning(table.c.count)
        )
        return self.db.execute(upsert).scalar() is not None

    def uncount(self, community_id: str, resident_id: str, item_id: str, period: str) -> None:
        """Take one redemption off the count."""
        table = redemption_counts
        self.db.execute(
            sa.update(table)
            .where(
                table.c.community_id == community_id,
                table.c.resident_id == resident_id,
                table.c.item_id == item_id,
                table.c.period == period,
                table.c.count > 0,
            )
            .values(count=table.c.count - 1)
        )


_REDEMPTION_FIELDS = (
    "resident_id",
    "item_id",
    "item_title",
    "partner_id",
    "price",
    "state",
    "reservation_id",
    "voucher",
    "voucher_expires_at",
    "holds_stock",
    "consumed_at",
    "consumed_by",
    "end_reason",
    "created_at",
    "updated_at",
)


def _redemption(row: Any) -> Redemption:
    values = row._asdict()
    values["state"] = RedemptionState(values["state"])
    return Redemption(**values)


def _redemption_values(redemption: Redemption) -> dict[str, Any]:
    values = {name: getattr(redemption, name) for name in _REDEMPTION_FIELDS}
    values["state"] = redemption.state.value
    return values


class SqlRedemptions(Redemptions):
    """Redemptions table; a move is an UPDATE guarded by the state it was read in."""

    def __init__(self, session: DbSession) -> None:
        self.db = session

    def add(self, redemption: Redemption) -> None:
        """Store a new redemption."""
        self.db.execute(
            sa.insert(redemptions).values(
                community_id=redemption.community_id,
                id=redemption.id,
                **_redemption_values(redemption),
            )
        )

    def get(self, community_id: str, redemption_id: str) -> Redemption | None:
        """A redemption by id, or None."""
        row = self.db.execute(
            sa.select(redemptions).where(
                redemptions.c.community_id == community_id, redemptions.c.id == redemption_id
            )
        ).first()
        return None if row is None else _redemption(row)

    def of_resident(
        self, community_id: str, resident_id: str, offset: int, limit: int
    ) -> list[Redemption]:
        """A resident's redemptions, newest first."""
        rows = self.db.execute(
            sa.select(redemptions)
            .where(
                redemptions.c.community_id == community_id,
                redemptions.c.resident_id == resident_id,
            )
            .order_by(redemptions.c.created_at.desc(), redemptions.c.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_redemption(row) for row in rows]

    def move(self, redemption: Redemption, was: RedemptionState) -> bool:
        """Store the redemption if it is still in state `was`; False if someone moved it."""
        moved = self.db.execute(
            sa.update(redemptions)
            .where(
                redemptions.c.community_id == redemption.community_id,
                redemptions.c.id == redemption.id,
                redemptions.c.state == was.value,
            )
            .values(**_redemption_values(redemption))
            .returning(redemptions.c.id)
        ).first()
        return moved is not None

    def stalled(
        self, states: frozenset[RedemptionState], untouched_since: datetime, limit: int
    ) -> list[tuple[str, str]]:
        """(community, id) of redemptions in the states not updated since the time."""
        rows = self.db.execute(
            sa.select(redemptions.c.community_id, redemptions.c.id)
            .where(
                redemptions.c.state.in_([state.value for state in states]),
                redemptions.c.updated_at < untouched_since,
            )
            .order_by(redemptions.c.updated_at)
            .limit(limit)
        ).all()
        return [(row.community_id, row.id) for row in rows]

    def expired(self, at: datetime, limit: int) -> list[tuple[str, str]]:
        """(community, id) of active redemptions whose voucher has expired by the time."""
        rows = self.db.execute(
            sa.select(redemptions.c.community_id, redemptions.c.id)
            .where(
                redemptions.c.state == RedemptionState.ACTIVE.value,
                redemptions.c.voucher_expires_at <= at,
            )
            .order_by(redemptions.c.voucher_expires_at)
            .limit(limit)
        ).all()
        return [(row.community_id, row.id) for row in rows]

    def in_flight(self) -> int:
        """How many redemptions are in a state the saga has not finished."""
        return int(
            self.db.execute(
                sa.select(sa.func.count()).where(
                    redemptions.c.state.in_([state.value for state in IN_FLIGHT])
                )
            ).scalar_one()
        )


class SqlRewardsUnitOfWork(SqlUnitOfWork, RewardsUnitOfWork):
    """The rewards unit of work on one SQLAlchemy session."""

    def open_repositories(self, session: DbSession) -> None:
        """Create the rewards repositories on the session."""
        self.items = SqlItems(session)
        self.limits = SqlLimits(session)
        self.redemptions = SqlRedemptions(session)
        self.seats = SqlSeatAllocations(session)
        self.nominations = SqlNominations(session)
        self.benefits = SqlBenefits(session)
