"""Use cases of project leads (O4): apply, approve, and the runs that promote a lead."""

from __future__ import annotations

from datetime import datetime

from linli_attendance.domain.activities import Session, SessionStatus
from linli_attendance.domain.leads import ProjectLead
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.commands import ApplyProjectLead, ApproveProjectLead
from linli_attendance.service_layer.flagging import flagging_refusals
from linli_attendance.service_layer.ports import AttendanceUnitOfWork, ResidentDirectory
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists
from linli_kit.usecases import idempotent


def _reload(
    uow: AttendanceUnitOfWork, cmd: ApplyProjectLead | ApproveProjectLead, ref: str
) -> ProjectLead:
    return lookups.lead(uow, cmd.community_id, ref)


@idempotent(_reload)
def apply_project_lead(
    cmd: ApplyProjectLead,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> ProjectLead:
    """Record a volunteer's application to lead a project."""
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id)
    lookups.known(residents, cmd.community_id, cmd.resident_id, "resident")
    if uow.leads.find(cmd.community_id, activity.id, cmd.resident_id) is not None:
        raise AlreadyExists("the resident has already applied to lead this project")
    lead = ProjectLead.apply(
        cmd.community_id, activity.id, cmd.resident_id, cmd.motivation, clock()
    )
    uow.leads.add(lead)
    return lead


@flagging_refusals
@idempotent(_reload)
def approve_project_lead(
    cmd: ApproveProjectLead,
    uow: AttendanceUnitOfWork,
    residents: ResidentDirectory,
    clock: Clock = utc_now,
) -> ProjectLead:
    """A staff member approves an application to lead a project."""
    lead = lookups.lead(uow, cmd.community_id, cmd.lead_id)
    lookups.known(residents, cmd.community_id, cmd.staff_id, "approving staff member")
    lead.approve(cmd.staff_id, clock())
    uow.leads.save(lead)
    return lead


def get_project_lead(community_id: str, lead_id: str, uow: AttendanceUnitOfWork) -> ProjectLead:
    """An application to lead, or NotFound."""
    with uow:
        return lookups.lead(uow, community_id, lead_id)


def count_lead_run(uow: AttendanceUnitOfWork, session: Session, now: datetime) -> None:
    """A completed session with time counted is a run for its resident's lead, if any."""
    if session.status is not SessionStatus.COMPLETED or session.duration_seconds == 0:
        return
    lead = uow.leads.find(session.community_id, session.activity_id, session.resident_id)
    if lead is not None:
        lead.record_run(session.window.starts_at, now)
        uow.leads.save(lead)
