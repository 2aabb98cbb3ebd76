"""What the access rules need from the database: a caller's reach, checked before any work."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from linli_identity.domain.access import EVERYONE, NOBODY, Reach, staff_reach
from linli_identity.domain.org import Role
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.principals import SYSTEM, Principal, require_community

F = TypeVar("F", bound=Callable[..., Any])


def reach_of(uow: IdentityUnitOfWork, actor: Principal, community_id: str) -> Reach:
    """Whose records the caller handles as staff of the community (inside an open uow)."""
    if actor is SYSTEM or actor.is_machine:
        return EVERYONE
    if not actor.is_staff or actor.community != community_id:
        return NOBODY
    if actor.has_role(Role.SOCIAL_WORKER):
        return EVERYONE
    own = uow.residents.get(community_id, actor.resident_id)
    if own is None:  # a token outliving its resident: no reach
        return NOBODY
    home = uow.org_units.get(community_id, own.home_unit_id) if own.home_unit_id else None
    return staff_reach(actor, home, uow.org_units.list(community_id) if home else ())


def in_actors_community(work: F) -> F:
    """Refuse a command of another community's caller (NotFound) before its request id is read.

    Otherwise a stranger reusing a request id would learn from the conflict that it was used.
    """

    @functools.wraps(work)
    def use_case(cmd: Any, *args: Any, **kwargs: Any) -> Any:
        require_community(cmd.actor, cmd.community_id)
        return work(cmd, *args, **kwargs)

    return use_case  # type: ignore[return-value]
