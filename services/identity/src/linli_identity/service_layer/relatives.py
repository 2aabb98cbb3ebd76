"""Relatives in other communities and person keys, for the time bank's recipient rule (E4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from linli_identity.domain.access import (
    require_self_or_staff_over,
    require_staff,
    require_staff_over,
)
from linli_identity.domain.relatives import (
    PersonKeys,
    Recipient,
    Relation,
    Relative,
    RelativeState,
    checked_person_key,
    recipient,
)
from linli_identity.service_layer.access import in_actors_community, reach_of
from linli_identity.service_layer.lookups import existing_resident, found
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import PermissionDenied, Unavailable
from linli_kit.principals import SYSTEM, Principal, require_community
from linli_kit.usecases import idempotent

ALL_RESIDENTS = "-"  # ListRelatives of every resident of the community (staff)


@dataclass(frozen=True)
class DeclareRelative:
    """Declare a relative living in another community, by their phone number."""

    community_id: str
    resident_id: str
    phone: str
    relation: Relation
    display_label: str = ""
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ChangeRelative:
    """Confirm (or remove) a declared relative."""

    community_id: str
    resident_id: str
    relative_id: str
    confirm: bool
    request_id: str = ""
    actor: Principal = field(kw_only=True)


def _keys(keys: PersonKeys | None) -> PersonKeys:
    if keys is None:
        raise Unavailable("no federation secret is configured (LINLI_IDENTITY_FEDERATION_SECRET)")
    return keys


def _relative(uow: IdentityUnitOfWork, community_id: str, resident_id: str, ref: str) -> Relative:
    return found(uow.relatives.get(community_id, resident_id, ref), f"relative {ref}")


@in_actors_community
@idempotent(lambda uow, cmd, ref: _relative(uow, cmd.community_id, cmd.resident_id, ref))
def declare_relative(
    cmd: DeclareRelative,
    uow: IdentityUnitOfWork,
    keys: PersonKeys | None,
    clock: Clock = utc_now,
) -> Relative:
    """Record a declared relative (the resident themself or their staff); it counts once
    confirmed."""
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    require_self_or_staff_over(cmd.actor, resident, reach_of(uow, cmd.actor, cmd.community_id))
    existing = uow.relatives.list(cmd.community_id, resident.id, None, 0, 1000)
    relative = Relative.declare(
        resident,
        cmd.phone,
        cmd.relation,
        cmd.display_label,
        _keys(keys),
        existing,
        clock(),
        cmd.actor.subject,
    )
    uow.relatives.add(relative)
    return relative


@in_actors_community
@idempotent(lambda uow, cmd, ref: _relative(uow, cmd.community_id, cmd.resident_id, ref))
def change_relative(
    cmd: ChangeRelative, uow: IdentityUnitOfWork, clock: Clock = utc_now
) -> Relative:
    """Confirm a relative (the resident's staff, never their own) or remove one (the resident
    or their staff)."""
    resident = existing_resident(uow, cmd.community_id, cmd.resident_id)
    relative = _relative(uow, cmd.community_id, resident.id, cmd.relative_id)
    reach = reach_of(uow, cmd.actor, cmd.community_id)
    if cmd.confirm:
        if cmd.actor is not SYSTEM and not cmd.actor.is_staff:
            raise PermissionDenied("only the resident's staff confirm a relative")
        if cmd.actor.is_resident(resident.community_id, resident.id):
            raise PermissionDenied("nobody confirms their own relative")
        require_staff_over(cmd.actor, resident, reach)
        if relative.confirm(cmd.actor.resident_id, clock()):
            uow.relatives.save(relative)
        return relative
    require_self_or_staff_over(cmd.actor, resident, reach)
    relative.remove(clock())
    uow.relatives.save(relative)
    return relative


def list_relatives(
    community_id: str,
    resident_id: str,
    state: RelativeState | None,
    offset: int,
    limit: int,
    uow: IdentityUnitOfWork,
    *,
    actor: Principal,
) -> tuple[list[Relative], bool]:
    """A resident's relatives (they or their staff), or every resident's (social workers),
    oldest first, and whether more follow."""
    require_community(actor, community_id)
    with uow:
        if resident_id == ALL_RESIDENTS:
            require_staff(actor, community_id)
            owner = None
        else:
            resident = existing_resident(uow, community_id, resident_id)
            require_self_or_staff_over(actor, resident, reach_of(uow, actor, community_id))
            owner = resident.id
        page = uow.relatives.list(community_id, owner, state, offset, limit + 1)
    return page[:limit], len(page) > limit


def person_key(
    community_id: str,
    resident_id: str,
    uow: IdentityUnitOfWork,
    keys: PersonKeys | None,
    *,
    actor: Principal,
) -> str:
    """A resident's person key (for the community's points service)."""
    require_community(actor, community_id)
    with uow:
        resident = existing_resident(uow, community_id, resident_id)
    return _keys(keys).of(resident.phone)


def transfer_recipient(
    community_id: str,
    resident_id: str,
    sender_key: str,
    uow: IdentityUnitOfWork,
    keys: PersonKeys | None,
    *,
    actor: Principal,
) -> Recipient:
    """What a resident here is to a sender elsewhere: themself, a confirmed relative, or not
    related (for the community's points service, deciding a peer's transfer)."""
    require_community(actor, community_id)
    sender_key = checked_person_key(sender_key)
    with uow:
        resident = existing_resident(uow, community_id, resident_id)
        relatives = uow.relatives.list(community_id, resident.id, RelativeState.CONFIRMED, 0, 1000)
    return recipient(resident, sender_key, _keys(keys), relatives)
