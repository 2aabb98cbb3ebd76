"""Who may see and do what with points, given the caller (ARCHITECTURE §5, issue #10).

The policy table beside the servicer admits kinds and roles; these rules decide on the
objects themselves. Another community's records are NotFound (their existence is not told);
a caller of the right community without the right to the object is PermissionDenied.

- A resident's balance and history: the resident themself, the community's staff, and the
  community's services the policy admits (rewards, partners).
- Reservations are made, settled and refunded by the community's rewards service; one is
  read by that service and by the resident it holds points of.
- Closes and leaderboard rebuilds: operators (social workers, SREs) of the community.
- An appeal is filed by the resident themself; it is read by its appellant, the committee
  and the staff; it is decided by a committee member of the community (the committee itself,
  and never one's own case, are the appeal's rules).
- The ledger check and the audit report: the community's committee members and social workers.
- The council (`domain/council.py`): its social workers seat members, schedule meetings, record
  attendance and minutes; a member votes, records a decision and adopts an audit only as
  themself; meetings are read by the social workers, committee role holders and anyone seated;
  the members and the public record by any person of the community.
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
)

APPEAL_READERS = (Role.COMMITTEE_MEMBER, Role.SOCIAL_WORKER, Role.GRID_HEAD, Role.BUILDING_LIAISON)


def _is_community_service(actor: Principal) -> bool:
    return actor is SYSTEM or actor.is_machine


def require_account_reader(actor: Principal, community_id: str, resident_id: str) -> None:
    """The resident, the community's staff or one of its services may read their account."""
    require_self_or_staff(actor, community_id, resident_id)


def require_reserver(actor: Principal, community_id: str) -> None:
    """Only the community's own services reserve, commit, void and refund (a person never does)."""
    require_community(actor, community_id)
    if not _is_community_service(actor):
        raise PermissionDenied("reservations are made and settled by the rewards service")


def require_reservation_reader(actor: Principal, community_id: str, resident_id: str) -> None:
    """The community's service, or the resident whose points the reservation holds."""
    require_community(actor, community_id)
    if not (_is_community_service(actor) or actor.is_resident(community_id, resident_id)):
        raise PermissionDenied("only the resident may see their reservation")


def require_operator(actor: Principal, community_id: str) -> None:
    """Closes and rebuilds act only on the operator's own community."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.has_role(Role.SOCIAL_WORKER, Role.SRE)):
        raise PermissionDenied("only the community's social workers and SREs may do this")


def require_appellant(actor: Principal, community_id: str, resident_id: str) -> None:
    """A resident files an appeal only as themself."""
    require_community(actor, community_id)
    if not actor.is_resident(community_id, resident_id):
        raise PermissionDenied("a resident files appeals only for themself")


def reviewer_of(actor: Principal, community_id: str) -> str:
    """The resident id of the committee member deciding an appeal: always the caller."""
    require_community(actor, community_id)
    if not actor.has_role(Role.COMMITTEE_MEMBER) or not actor.resident_id:
        raise PermissionDenied("only committee members decide appeals")
    return actor.resident_id


def require_appeal_reader(actor: Principal, community_id: str, appellant: str | None) -> None:
    """An appellant sees their own appeals; committee members and staff see the community's."""
    require_community(actor, community_id)
    if actor is SYSTEM or (actor.kind is Kind.PERSON and actor.has_role(*APPEAL_READERS)):
        return
    if appellant is None or not actor.is_resident(community_id, appellant):
        raise PermissionDenied("only the appellant, the committee and staff may see appeals")


def require_auditor(actor: Principal, community_id: str) -> None:
    """The ledger check and the audit report: committee members and social workers."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.has_role(Role.COMMITTEE_MEMBER, Role.SOCIAL_WORKER)):
        raise PermissionDenied("only committee members and social workers may audit")


def require_council_staff(actor: Principal, community_id: str) -> None:
    """The council's secretariat: the community's social workers seat members and run meetings."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.has_role(Role.SOCIAL_WORKER)):
        raise PermissionDenied("only the community's social workers may do this for the council")


def council_voter(actor: Principal, community_id: str) -> str:
    """The resident id of a person acting for themself on the council: always the caller."""
    require_community(actor, community_id)
    if actor.kind is not Kind.PERSON or not actor.resident_id:
        raise PermissionDenied("council members vote and decide only as themselves")
    return actor.resident_id


def require_meeting_reader(actor: Principal, community_id: str, seated: set[str]) -> None:
    """Meetings: social workers, committee role holders and anyone ever seated on the council."""
    require_community(actor, community_id)
    if actor is SYSTEM or actor.has_role(Role.SOCIAL_WORKER, Role.COMMITTEE_MEMBER):
        return
    if actor.resident_id not in seated:
        raise PermissionDenied("only staff and the council's members may see its meetings")


def require_community_person(actor: Principal, community_id: str) -> None:
    """Anyone of the community: the council's members and its public record."""
    require_community(actor, community_id)
    if not (actor is SYSTEM or actor.kind is Kind.PERSON):
        raise PermissionDenied("the council's public record is for the community's people")
