"""Who may do what with rewards, given the caller (ARCHITECTURE §5).

The policy table beside the servicer admits kinds and roles; these rules decide on the
objects. Another community's records are NotFound; the right community without the right to
the object is PermissionDenied.

- The catalogue is kept by the community's staff; every signed-in person of it reads it.
- A resident redeems, reads and cancels for themself; staff do so for any resident.
- A voucher is checked and consumed by the partner that fulfils its item, or, for the
  community's own items, by its staff.
- Seat allocations, nominations and benefits are opened and decided by staff; a resident
  applies for themself and sees their own place. The supervision committee endorses
  nominations and reads them with staff and the nominee.
"""

from __future__ import annotations

from linli_kit.errors import PermissionDenied
from linli_kit.principals import (
    SYSTEM,
    Kind,
    Principal,
    Role,
    require_community,
    require_self_or_staff,
    require_staff,
)

__all__ = [
    "require_committee",
    "require_fulfiller",
    "require_nomination_reader",
    "require_self_or_staff",
    "require_staff",
]


def require_fulfiller(actor: Principal, community_id: str, partner_id: str) -> None:
    """The partner that fulfils the item, or staff for an item of the community's own."""
    require_community(actor, community_id)
    if actor is SYSTEM:
        return
    if partner_id:
        if not (actor.kind is Kind.PARTNER and actor.subject == partner_id):
            raise PermissionDenied("this voucher is for another partner's item")
    elif not actor.is_staff:
        raise PermissionDenied("this voucher is used with the community's staff")


def require_committee(actor: Principal, community_id: str) -> None:
    """A member of the community's supervision committee."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.has_role(Role.COMMITTEE_MEMBER)):
        raise PermissionDenied("only the supervision committee may do this")


def require_nomination_reader(actor: Principal, community_id: str, nominee_id: str) -> None:
    """Staff, the supervision committee, or the nominee themself."""
    require_community(actor, community_id)
    if actor.has_role(Role.COMMITTEE_MEMBER) or actor.is_resident(community_id, nominee_id):
        return
    require_staff(actor, community_id)
