"""Who may act on attendance records (ARCHITECTURE §5): the rules that need the record.

The policy table beside the servicer admits kinds of callers and roles per RPC; these rules
take the caller (a `Principal`) and the record it acts on:

- **One community.** Every record belongs to one community; a caller of another community
  is told it does not exist (NotFound), never that it does.
- **Training activities** (service type TRAINING: attending a course session) are planned
  by the community's training service only, which links each to its course session; staff
  plan every other kind. So every training hour is one training knows of, and none is paid
  a P1 rate.
- **Staff** (social worker, grid head, building liaison) of the community plan and close
  activities, confirm, correct and enter sessions, record whom a session served, review
  flags and approve leads. The staff member is the caller, never a name in the request.
- **Presence.** A resident signs themself in and out with the activity's check-in code (QR
  or PIN): the code is the proof, there is no confirmer. Staff sign anyone else in or out
  and are recorded as the confirmer; nobody confirms their own presence (a staff member
  trying is refused and flagged, see `Activity.check_confirmer`).
- **Kiosks** are operated by the community's staff or a core volunteer, signed in on them;
  the face, not the operator, names who signs in.
- **Reading.** A session is seen by its volunteer and by staff, an application to lead by
  its applicant and by staff. An activity's check-in code is shown to its staff only: with
  the code anyone could sign in from home.
- **Checklists** are recorded by staff or by the activity's approved (or promoted) lead.
- Ratings and applications to lead are made by the resident themself, the caller.
- **Rosters** (`roster.py`): staff and the training service put anyone on an occurrence's
  roster and take them off; a resident signs themself up as a volunteer and takes themself
  off. The whole roster is seen by staff, core volunteers (who operate kiosks) and the
  training service; a resident sees their own entry.
- **Flags** are read by staff; a resident reads only the prompts to enrol their face again
  that are about them (FACE_REENROLMENT), never the anti-fraud flags.
"""

from __future__ import annotations

import dataclasses

from linli_attendance.domain.activities import Activity, ServiceType, Session, SignInMethod
from linli_attendance.domain.leads import LeadStatus, ProjectLead
from linli_attendance.domain.names import MAX_ID
from linli_attendance.domain.review import FlagKind
from linli_attendance.domain.roster import RosterRole
from linli_kit.errors import InvalidArgument, PermissionDenied
from linli_kit.principals import (
    Kind,
    Principal,
    Role,
    require_community,
    require_self_or_staff,
)


def staff_member(actor: Principal, community_id: str) -> str:
    """The resident id of the community's staff member acting, or refused."""
    require_community(actor, community_id)
    if not actor.is_staff:
        raise PermissionDenied("only the community's staff may do this")
    return _stored_id(actor)


TRAINING_SERVICE = "training"


def check_plans(actor: Principal, community_id: str, service_type: ServiceType) -> None:
    """Refuse a planner other than the training service for training, or staff for the rest."""
    require_community(actor, community_id)
    training_service = actor.is_machine and actor.subject == TRAINING_SERVICE
    if service_type is ServiceType.TRAINING:
        if not training_service:
            raise PermissionDenied(
                "training activities are scheduled as course sessions in the training service"
            )
        return
    staff_member(actor, community_id)


def resident_acting(actor: Principal, community_id: str) -> str:
    """The resident id of the community's resident acting for themself, or refused."""
    require_community(actor, community_id)
    if actor.kind is not Kind.PERSON:
        raise PermissionDenied("only a signed-in resident may do this for themself")
    return _stored_id(actor)


def presence_confirmer(
    actor: Principal, community_id: str, resident_id: str, method: SignInMethod
) -> str:
    """Who confirms a sign-in or sign-out: nobody for the resident's own code, else the staff."""
    require_community(actor, community_id)
    if actor.is_resident(community_id, resident_id) and method is not SignInMethod.STAFF_CONFIRMED:
        return ""
    if not actor.is_staff:
        raise PermissionDenied(
            "a resident signs themself in or out with the activity's QR code or PIN; "
            "only staff sign in someone else or confirm a sign-in"
        )
    return _stored_id(actor)


def check_kiosk_operator(actor: Principal, community_id: str) -> None:
    """Refuse a caller who is neither staff nor a core volunteer of the community."""
    require_community(actor, community_id)
    if not (actor.is_staff or (actor.kind is Kind.PERSON and actor.has_role(Role.CORE_VOLUNTEER))):
        raise PermissionDenied("a kiosk is operated by the community's staff or core volunteers")


def check_sees_session(actor: Principal, session: Session) -> None:
    """Refuse anyone but the session's volunteer and the community's staff."""
    require_self_or_staff(actor, session.community_id, session.resident_id)


def check_sees_lead(actor: Principal, lead: ProjectLead) -> None:
    """Refuse anyone but the applicant and the community's staff."""
    require_self_or_staff(actor, lead.community_id, lead.resident_id)


def check_records_checklist(actor: Principal, session: Session, lead: ProjectLead | None) -> None:
    """Refuse anyone but staff and the approved lead of the session's activity.

    `lead` is the caller's own application to lead that activity, if any.
    """
    require_community(actor, session.community_id)
    if actor.is_staff:
        return
    if (
        lead is not None
        and lead.resident_id == actor.resident_id
        and lead.activity_id == session.activity_id
        and lead.status is not LeadStatus.APPLIED
    ):
        return
    raise PermissionDenied("only staff or the activity's approved lead record its checklist")


def roster_keeper(actor: Principal, community_id: str, resident_id: str) -> str | None:
    """Who keeps the roster when the caller does (staff id or "training"); None for the resident.

    None means the resident acts on their own entry; anyone else is refused.
    """
    require_community(actor, community_id)
    if actor.is_machine and actor.subject == TRAINING_SERVICE:
        return TRAINING_SERVICE
    if actor.is_staff:
        return _stored_id(actor)
    if actor.is_resident(community_id, resident_id):
        return None
    raise PermissionDenied("a resident puts only themself on a roster or takes themself off it")


def check_self_sign_up(role: RosterRole) -> None:
    """Refuse a resident signing themself up as anything but a volunteer."""
    if role is not RosterRole.VOLUNTEER:
        raise PermissionDenied("only staff put someone on a roster as the occurrence's staff")


def sees_whole_roster(actor: Principal, community_id: str) -> bool:
    """Staff, core volunteers and the training service see a roster; residents their own entry."""
    require_community(actor, community_id)
    if actor.is_machine:
        return actor.subject == TRAINING_SERVICE
    return actor.is_staff or (actor.kind is Kind.PERSON and actor.has_role(Role.CORE_VOLUNTEER))


def flags_seen_by(
    actor: Principal, community_id: str
) -> tuple[str | None, frozenset[FlagKind] | None]:
    """Whose flags of which kinds the caller sees: staff every flag (None, None), a resident
    only the prompts to enrol their face again that are about them."""
    require_community(actor, community_id)
    if actor.is_staff:
        return None, None
    if actor.kind is not Kind.PERSON:
        raise PermissionDenied("only the community's staff and residents read flags")
    return _stored_id(actor), frozenset({FlagKind.FACE_REENROLMENT})


def as_seen_by(activity: Activity, actor: Principal) -> Activity:
    """The activity as the caller may see it: the check-in code only for its staff."""
    if actor.is_staff and actor.community == activity.community_id:
        return activity
    return dataclasses.replace(activity, check_in_code="")


def _stored_id(actor: Principal) -> str:
    """The caller's resident id as records keep it (the caller named as staff or rater)."""
    if len(actor.resident_id) > MAX_ID:
        raise InvalidArgument(f"the caller's resident id is longer than {MAX_ID} characters")
    return actor.resident_id
