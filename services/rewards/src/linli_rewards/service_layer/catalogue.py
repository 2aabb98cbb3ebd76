"""Use cases of the catalogue (R1): staff keep it, every person of the community reads it."""

from __future__ import annotations

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_rewards.domain import access
from linli_rewards.domain.catalogue import Item, default_items
from linli_rewards.service_layer.commands import (
    CreateDefaultItems,
    CreateItem,
    RestockItem,
    RetireItem,
)
from linli_rewards.service_layer.ports import RewardsUnitOfWork


def item(uow: RewardsUnitOfWork, community_id: str, item_id: str) -> Item:
    """An item of the community, or NotFound."""
    found = uow.items.get(community_id, item_id)
    if found is None:
        raise NotFound(f"no item {item_id} in {community_id}")
    return found


def _reload(uow: RewardsUnitOfWork, cmd: CreateItem | RestockItem | RetireItem, ref: str) -> Item:
    return item(uow, cmd.community_id, ref)


def _reload_defaults(uow: RewardsUnitOfWork, cmd: CreateDefaultItems, ref: str) -> list[Item]:
    return [item(uow, cmd.community_id, item_id) for item_id in ref.split(",") if item_id]


@idempotent(_reload)
def create_item(cmd: CreateItem, uow: RewardsUnitOfWork, clock: Clock = utc_now) -> Item:
    """Staff add an item to the catalogue."""
    access.require_staff(cmd.actor, cmd.community_id)
    new = cmd.item(clock())
    uow.items.add(new)
    return new


@idempotent(_reload_defaults, reference=lambda items: ",".join(i.id for i in items))
def create_default_items(
    cmd: CreateDefaultItems, uow: RewardsUnitOfWork, clock: Clock = utc_now
) -> list[Item]:
    """Staff add the policy's default items that the catalogue does not hold yet."""
    access.require_staff(cmd.actor, cmd.community_id)
    added = [
        default
        for default in default_items(cmd.community_id, clock())
        if uow.items.get(cmd.community_id, default.id) is None
    ]
    for default in added:
        uow.items.add(default)
    return added


@idempotent(_reload)
def restock_item(cmd: RestockItem, uow: RewardsUnitOfWork) -> Item:
    """Staff add units to an item's stock."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = item(uow, cmd.community_id, cmd.item_id)
    found.restock(cmd.units)
    uow.items.save(found)
    return found


@idempotent(_reload)
def retire_item(cmd: RetireItem, uow: RewardsUnitOfWork) -> Item:
    """Staff take an item off sale for good."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = item(uow, cmd.community_id, cmd.item_id)
    found.retire()
    uow.items.save(found)
    return found


def get_item(actor: Principal, community_id: str, item_id: str, uow: RewardsUnitOfWork) -> Item:
    """An item of the caller's community."""
    require_community(actor, community_id)
    with uow:
        return item(uow, community_id, item_id)


def list_items(
    actor: Principal,
    community_id: str,
    offset: int,
    limit: int,
    uow: RewardsUnitOfWork,
    clock: Clock = utc_now,
) -> tuple[list[Item], bool]:
    """A page of items by id: staff see every item, residents those on sale; and whether more."""
    require_community(actor, community_id)
    on_sale_at = None if actor.is_staff else clock()
    with uow:
        found = uow.items.page(community_id, on_sale_at, offset, limit + 1)
    return found[:limit], len(found) > limit
