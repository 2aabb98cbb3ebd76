"""Who may do what with partners, given the caller (ARCHITECTURE §5).

The policy table beside the servicer admits kinds and roles; these rules decide on the
objects. Another community's records are NotFound; the right community without the right to
the object is PermissionDenied.

- Partners, agreements, contributions and benefits are kept by the community's staff; a
  partner reads its own record, agreements and contributions.
- A partner checks a code only for a benefit in its scopes (a revoked partner has none and
  is refused at the door).
- A resident makes codes for themself only and reads the checks made of them; staff read
  any resident's checks.
- Funds and grants (O5, E5): the fund's panel is the community's staff and its supervision
  committee. A resident submits proposals only as themself and reads their own; the panel
  reads them all. Staff keep the calls, awards, agency, grants, rota and cases; the proposer
  records their own incubation's milestones too; staff or the committee decide a grant's
  publication. A resident reads their own legal cases.
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
from linli_partners.domain.partners import benefit_scope

__all__ = [
    "require_checker",
    "require_panel",
    "require_panel_or_self",
    "require_partner_or_staff",
    "require_resident",
    "require_self_or_staff",
    "require_service",
    "require_staff",
]


def require_partner_or_staff(actor: Principal, community_id: str, partner_id: str) -> None:
    """The partner itself, or the community's staff."""
    require_community(actor, community_id)
    if actor.kind is Kind.PARTNER and actor.subject == partner_id:
        return
    require_staff(actor, community_id)


def require_checker(actor: Principal, community_id: str, benefit_id: str) -> None:
    """A partner of the community whose scopes include the benefit."""
    require_community(actor, community_id)
    if actor is SYSTEM:
        return
    if actor.kind is not Kind.PARTNER or benefit_scope(benefit_id) not in actor.scopes:
        raise PermissionDenied(f"this partner may not check the benefit {benefit_id}")


def require_resident(actor: Principal, community_id: str, resident_id: str) -> None:
    """The resident themself, signed in."""
    require_community(actor, community_id)
    if not actor.is_resident(community_id, resident_id):
        raise PermissionDenied("only the resident may do this for themself")


def require_service(actor: Principal, community_id: str) -> None:
    """One of the community's services (they authorise partners' calls)."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.is_machine):
        raise PermissionDenied("only the community's services may ask this")


def require_panel(actor: Principal, community_id: str) -> None:
    """The community's staff or a member of its supervision committee."""
    require_community(actor, community_id)
    if actor is SYSTEM or actor.is_staff:
        return
    if not (actor.kind is Kind.PERSON and actor.has_role(Role.COMMITTEE_MEMBER)):
        raise PermissionDenied("only the community's staff or committee may do this")


def require_panel_or_self(actor: Principal, community_id: str, resident_id: str) -> None:
    """The resident themself, or the community's staff or committee."""
    require_community(actor, community_id)
    if actor.is_resident(community_id, resident_id):
        return
    require_panel(actor, community_id)
