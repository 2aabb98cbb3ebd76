"""Use cases of staff review: confirm or correct held sessions, list and resolve flags."""

from __future__ import annotations

from datetime import datetime

from linli_attendance.domain import access
from linli_attendance.domain.activities import Activity, Session
from linli_attendance.domain.review import Flag
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.commands import ConfirmSession, CorrectSession, ResolveFlag
from linli_attendance.service_layer.flagging import flagging_refusals
from linli_attendance.service_layer.leads import count_lead_run
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent


def _reload_session(
    uow: AttendanceUnitOfWork, cmd: ConfirmSession | CorrectSession, ref: str
) -> Session:
    return lookups.session(uow, cmd.community_id, ref)


@flagging_refusals
@idempotent(_reload_session)
def confirm_session(
    cmd: ConfirmSession, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Session:
    """Staff confirm a session held for review; its SessionCompleted leaves with the commit."""
    staff_id = access.staff_member(cmd.actor, cmd.community_id)
    session = lookups.session(uow, cmd.community_id, cmd.session_id)
    activity = lookups.activity(uow, cmd.community_id, session.activity_id)
    now = clock()
    session.confirm(activity, staff_id, now)
    _finish_review(uow, activity, session, staff_id, now)
    return session


@flagging_refusals
@idempotent(_reload_session)
def correct_session(
    cmd: CorrectSession, uow: AttendanceUnitOfWork, clock: Clock = utc_now
) -> Session:
    """Staff correct a session's counted duration; SessionCorrected leaves with the commit."""
    staff_id = access.staff_member(cmd.actor, cmd.community_id)
    session = lookups.session(uow, cmd.community_id, cmd.session_id)
    activity = lookups.activity(uow, cmd.community_id, session.activity_id)
    now = clock()
    session.correct(activity, cmd.duration_seconds, staff_id, cmd.reason, now)
    _finish_review(uow, activity, session, staff_id, now)
    return session


def list_flags(
    actor: Principal,
    community_id: str,
    open_only: bool,
    offset: int,
    limit: int,
    uow: AttendanceUnitOfWork,
) -> tuple[list[Flag], bool]:
    """A page of flags, newest first, and whether more follow: all of the community's for its
    staff, a resident's own re-enrolment prompts for them."""
    about, kinds = access.flags_seen_by(actor, community_id)
    with uow:
        flags = uow.flags.page(community_id, open_only, offset, limit + 1, about, kinds)
        return flags[:limit], len(flags) > limit


def _reload_flag(uow: AttendanceUnitOfWork, cmd: ResolveFlag, ref: str) -> Flag:
    return lookups.flag(uow, cmd.community_id, ref)


@idempotent(_reload_flag)
def resolve_flag(cmd: ResolveFlag, uow: AttendanceUnitOfWork, clock: Clock = utc_now) -> Flag:
    """Staff mark a flag as dealt with; nobody resolves a flag about themself."""
    staff_id = access.staff_member(cmd.actor, cmd.community_id)
    flag = lookups.flag(uow, cmd.community_id, cmd.flag_id)
    flag.resolve(staff_id, clock())
    uow.flags.save(flag)
    return flag


def _finish_review(
    uow: AttendanceUnitOfWork, activity: Activity, session: Session, staff_id: str, now: datetime
) -> None:
    """The reviewed session's open flags are dealt with; a completed one may be a lead's run."""
    for flag in uow.flags.open_for_session(session.community_id, session.id):
        flag.resolve(staff_id, now)
        uow.flags.save(flag)
    uow.sessions.save(session)
    count_lead_run(uow, activity, session, now)
