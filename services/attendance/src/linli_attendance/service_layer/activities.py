"""Use cases of activities (A3, O3): plan, close, read."""

from __future__ import annotations

from linli_attendance.domain import access
from linli_attendance.domain.activities import Activity, checklist_steps
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.commands import CloseActivity, CreateActivity
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent


def _reload(uow: AttendanceUnitOfWork, cmd: CreateActivity | CloseActivity, ref: str) -> Activity:
    return lookups.activity(uow, cmd.community_id, ref)


@idempotent(_reload)
def create_activity(
    cmd: CreateActivity, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Activity:
    """Staff (training: the training service) plan an activity; an emergency one starts now."""
    access.check_plans(cmd.actor, cmd.community_id, cmd.service_type)
    now = clock()
    activity = Activity.plan(
        cmd.community_id,
        cmd.title,
        cmd.service_type,
        cmd.kind,
        cmd.starts_at or now,
        cmd.ends_at,
        now,
        place=cmd.place,
        capacity=cmd.capacity,
        occurrence_count=cmd.occurrence_count,
        kiosk_ids=cmd.kiosk_ids,
        checklist=checklist_steps(cmd.checklist, cmd.checklist_template),
        org_units=cmd.org_units,
    )
    uow.activities.add(activity)
    return activity


@idempotent(_reload)
def close_activity(
    cmd: CloseActivity, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Activity:
    """Staff close an activity to new sign-ins."""
    access.staff_member(cmd.actor, cmd.community_id)
    activity = lookups.activity(uow, cmd.community_id, cmd.activity_id)
    activity.close(clock())
    uow.activities.save(activity)
    return activity


def get_activity(
    actor: Principal, community_id: str, activity_id: str, uow: AttendanceUnitOfWork
) -> Activity:
    """An activity as the community's caller may see it, or NotFound."""
    require_community(actor, community_id)
    with uow:
        return access.as_seen_by(lookups.activity(uow, community_id, activity_id), actor)


def list_activities(
    actor: Principal, community_id: str, offset: int, limit: int, uow: AttendanceUnitOfWork
) -> tuple[list[Activity], bool]:
    """A page of activities by start time as the caller may see them, and whether more follow."""
    require_community(actor, community_id)
    with uow:
        activities = uow.activities.list(community_id, offset, limit + 1)
        return [access.as_seen_by(a, actor) for a in activities[:limit]], len(activities) > limit
