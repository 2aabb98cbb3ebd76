"""Who may do what with training records, given the caller (ARCHITECTURE §5).

The policy tables beside the servicers admit kinds and roles; these rules decide on the
objects. Another community's records are NotFound; the right community without the right to
the object is PermissionDenied.

- Courses, teachers, sessions, levels and allowances are kept by the community's staff; every
  signed-in person of the community reads the courses, sessions and levels.
- A resident enrols, gives a seat up and reads their progress and allowances for themself;
  staff do so for any resident. Whether a resident is a core volunteer is identity's word
  (its role grants), never the caller's.
- Assessment results are personal data: the resident and the social workers of their
  community read them; no grid head, building liaison, service or partner does. A resident
  answers (or a social worker enters their paper form); only the resident declines.
"""

from __future__ import annotations

from linli_kit.errors import PermissionDenied
from linli_kit.principals import (
    Kind,
    Principal,
    Role,
    require_community,
    require_self_or_staff,
    require_staff,
)

__all__ = [
    "require_assessment_reader",
    "require_resident_themself",
    "require_self_or_staff",
    "require_staff",
]


def require_assessment_reader(actor: Principal, community_id: str, resident_id: str) -> None:
    """The resident themself or a social worker of their community; nobody else."""
    require_community(actor, community_id)
    if actor.is_resident(community_id, resident_id):
        return
    if actor.kind is Kind.PERSON and actor.has_role(Role.SOCIAL_WORKER):
        return
    raise PermissionDenied("an assessment is read by the resident and their social workers only")


def require_resident_themself(actor: Principal, community_id: str, resident_id: str) -> None:
    """The resident, signed in, acting for themself."""
    require_community(actor, community_id)
    if not actor.is_resident(community_id, resident_id):
        raise PermissionDenied("only the resident themself may do this")
