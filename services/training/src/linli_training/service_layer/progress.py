"""Use cases of residents' training (T3): attendance credited once, credits, levels, allowances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import NotFound
from linli_kit.principals import Principal
from linli_kit.usecases import idempotent, once_per_event
from linli_training.domain import access
from linli_training.domain.courses import Course
from linli_training.domain.progress import (
    Allowance,
    CourseCompleted,
    Level,
    LevelPromoted,
    Trainee,
)
from linli_training.service_layer.commands import (
    ChangeCoreVolunteer,
    CorrectAttendance,
    CreditAttendance,
    MarkAllowancePaid,
)
from linli_training.service_layer.ports import TrainingUnitOfWork

ATTENDANCE_CONSUMER = "training.session-completed"
CORRECTION_CONSUMER = "training.session-corrected"
ROLE_CONSUMER = "training.core-volunteer"


NOT_TRAINING, NOT_ENROLLED, ALREADY, CREDITED, CORRECTED, OUT_OF_DATE = (
    "not_training",
    "not_enrolled",
    "already_credited",
    "credited",
    "corrected",
    "out_of_date",
)


@dataclass(frozen=True)
class Credit:
    """What crediting an attendance did: its outcome, courses completed, levels reached."""

    outcome: str
    completed: tuple[str, ...] = ()
    promoted: tuple[str, ...] = ()


@once_per_event(ATTENDANCE_CONSUMER)
def credit_attendance(cmd: CreditAttendance, uow: TrainingUnitOfWork) -> Credit:
    """Credit a course session's completed attendance session once, to an enrolled resident.

    Only a training activity linked to a session counts; the attendance session's id is
    recorded under a unique key, so the same session reaching us twice counts once.
    """
    found = uow.sessions.by_activity(cmd.community_id, cmd.activity_id)
    course = None if found is None else uow.courses.get(cmd.community_id, found.course_id)
    if found is None or course is None or not cmd.training:
        return Credit(NOT_TRAINING)
    if not found.is_enrolled(cmd.resident_id):
        return Credit(NOT_ENROLLED)
    trainee = uow.trainees.get(cmd.community_id, cmd.resident_id)
    seconds = max(0, cmd.duration_seconds)
    if seconds == 0 or not uow.trainees.first_attendance(
        trainee, cmd.session, found.id, course.id, seconds, cmd.occurred_at
    ):
        return Credit(ALREADY)
    trainee.attend(course, found.id, cmd.session, seconds, cmd.occurred_at)
    return _promote(uow, trainee, CREDITED, cmd.occurred_at)


def _promote(uow: TrainingUnitOfWork, trainee: Trainee, outcome: str, at: datetime) -> Credit:
    """Rise through the levels now reached and store the record; what the change did."""
    trainee.promote(uow.levels.all(trainee.community_id), uow.courses.all(trainee.community_id), at)
    credit = Credit(
        outcome,
        tuple(e.course_id for e in trainee.events if isinstance(e, CourseCompleted)),
        tuple(e.level_id for e in trainee.events if isinstance(e, LevelPromoted)),
    )
    uow.trainees.save(trainee)
    return credit


@once_per_event(CORRECTION_CONSUMER)
def correct_attendance(cmd: CorrectAttendance, uow: TrainingUnitOfWork) -> Credit:
    """Follow attendance's correction (or voiding) of a course session's attendance session.

    The corrected seconds replace what was credited; a session never credited (held for
    review, then corrected) is credited now if the resident holds a seat. Corrections apply
    in the order attendance made them: an older one arriving late changes nothing.
    """
    found = uow.sessions.by_activity(cmd.community_id, cmd.activity_id)
    course = None if found is None else uow.courses.get(cmd.community_id, found.course_id)
    if found is None or course is None or not cmd.training:
        return Credit(NOT_TRAINING)
    trainee = uow.trainees.get(cmd.community_id, cmd.resident_id)
    seconds = max(0, cmd.duration_seconds)
    credited = uow.trainees.credited(cmd.community_id, cmd.session)
    if credited is None and not found.is_enrolled(cmd.resident_id):
        return Credit(NOT_ENROLLED)
    previous = uow.trainees.correct_attendance(
        trainee, cmd.session, found.id, course.id, seconds, cmd.corrected_at
    )
    if previous is None:
        return Credit(OUT_OF_DATE)
    if credited is None:
        if not seconds:
            return Credit(CORRECTED)  # voided before it was ever credited: nothing to undo
        trainee.attend(course, found.id, cmd.session, seconds, cmd.corrected_at)
        return _promote(uow, trainee, CREDITED, cmd.corrected_at)
    trainee.correct(course, found.id, cmd.session, previous, seconds, cmd.corrected_at)
    return _promote(uow, trainee, CORRECTED, cmd.corrected_at)


@once_per_event(ROLE_CONSUMER)
def change_core_volunteer(cmd: ChangeCoreVolunteer, uow: TrainingUnitOfWork) -> None:
    """Follow identity's grant or revocation of the core_volunteer role."""
    trainee = uow.trainees.get(cmd.community_id, cmd.resident_id)
    trainee.core_volunteer = cmd.core
    uow.trainees.save(trainee)


@dataclass(frozen=True)
class ProgressView:
    """A resident's record with the catalogue and level table it is read against."""

    trainee: Trainee
    courses: list[Course]
    level: Level | None


def get_progress(
    actor: Principal, community_id: str, resident_id: str, uow: TrainingUnitOfWork
) -> ProgressView:
    """A resident's training, for themself or staff."""
    access.require_self_or_staff(actor, community_id, resident_id)
    with uow:
        trainee = uow.trainees.get(community_id, resident_id)
        courses = uow.courses.all(community_id)
        return ProgressView(trainee, courses, trainee.level(uow.levels.all(community_id)))


def allowance(uow: TrainingUnitOfWork, community_id: str, allowance_id: str) -> Allowance:
    """An allowance of the community, locked for update, or NotFound."""
    found = uow.allowances.get(community_id, allowance_id)
    if found is None:
        raise NotFound(f"no allowance {allowance_id} in {community_id}")
    return found


def _reload(uow: TrainingUnitOfWork, cmd: MarkAllowancePaid, ref: str) -> Allowance:
    return allowance(uow, cmd.community_id, ref)


@idempotent(_reload)
def mark_allowance_paid(
    cmd: MarkAllowancePaid, uow: TrainingUnitOfWork, clock: Clock = utc_now
) -> Allowance:
    """Staff record an allowance as paid, once."""
    access.require_staff(cmd.actor, cmd.community_id)
    found = allowance(uow, cmd.community_id, cmd.allowance_id)
    found.mark_paid(cmd.actor.resident_id, clock())
    uow.allowances.save(found)
    return found


def list_allowances(
    actor: Principal,
    community_id: str,
    resident_id: str | None,
    unpaid_only: bool,
    offset: int,
    limit: int,
    uow: TrainingUnitOfWork,
) -> tuple[list[Allowance], bool]:
    """A page of a resident's (themself or staff) or the community's (staff) allowances."""
    if resident_id is None:
        access.require_staff(actor, community_id)
    else:
        access.require_self_or_staff(actor, community_id, resident_id)
    with uow:
        found = uow.allowances.page(community_id, resident_id, unpaid_only, offset, limit + 1)
    return found[:limit], len(found) > limit
