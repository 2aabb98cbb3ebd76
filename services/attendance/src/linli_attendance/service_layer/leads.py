"""Use cases of project leads (O4): apply, approve, and the runs that promote a lead."""

from __future__ import annotations

from datetime import datetime

from linli_attendance.domain import access
from linli_attendance.domain.activities import Activity, Session, SessionStatus
from linli_attendance.domain.leads import ProjectLead
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.commands import ApplyProjectLead, ApproveProjectLead
from linli_attendance.service_layer.flagging import flagging_refusals
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent


def _reload(
    uow: AttendanceUnitOfWork, cmd: ApplyProjectLead | ApproveProjectLead, ref: str
) -> ProjectLead:
    return lookups.lead(uow, cmd.community_id, ref)


@idempotent(_reload)
def apply_project_lead(
    cmd: ApplyProjectLead, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> ProjectLead:
    """Record the calling volunteer's application to lead a project."""
    resident_id = access.resident_acting(cmd.actor, cmd.community_id)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id)
    if uow.leads.find(cmd.community_id, activity.id, resident_id) is not None:
        raise AlreadyExists("the resident has already applied to lead this project")
    lead = ProjectLead.apply(cmd.community_id, activity.id, resident_id, cmd.motivation, clock())
    uow.leads.add(lead)
    return lead


@flagging_refusals
@idempotent(_reload)
def approve_project_lead(
    cmd: ApproveProjectLead, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> ProjectLead:
    """A staff member approves an application to lead a project."""
    staff_id = access.staff_member(cmd.actor, cmd.community_id)
    lead = lookups.lead(uow, cmd.community_id, cmd.lead_id)
    lead.approve(staff_id, clock())
    uow.leads.save(lead)
    return lead


def get_project_lead(
    actor: Principal, community_id: str, lead_id: str, uow: AttendanceUnitOfWork
) -> ProjectLead:
    """An application to lead for its applicant or staff, or NotFound."""
    with uow:
        lead = lookups.lead(uow, community_id, lead_id)
    access.check_sees_lead(actor, lead)
    return lead


def count_lead_run(
    uow: AttendanceUnitOfWork, activity: Activity, session: Session, now: datetime
) -> None:
    """A completed session with time counted is a run for its resident's lead, if any (looked
    for only at an activity someone applied to lead)."""
    if not activity.led:
        return
    if session.status is not SessionStatus.COMPLETED or session.duration_seconds == 0:
        return
    lead = uow.leads.find(session.community_id, session.activity_id, session.resident_id)
    if lead is not None:
        lead.record_run(session.window.starts_at, now)
        uow.leads.save(lead)
