"""Use cases of the catalogue: courses (T1), the teacher pool (T2) and the level table (T3)."""

from __future__ import annotations

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import FailedPrecondition, NotFound
from linli_kit.principals import Principal, require_community
from linli_kit.usecases import idempotent
from linli_training.domain import access
from linli_training.domain.courses import Course, default_courses
from linli_training.domain.progress import Level, default_levels
from linli_training.domain.sessions import Teacher
from linli_training.service_layer.commands import (
    CreateCourse,
    CreateDefaultCourses,
    CreateDefaultLevels,
    CreateLevel,
    CreateTeacher,
)
from linli_training.service_layer.ports import MAX_LEVELS, TrainingUnitOfWork


def course(uow: TrainingUnitOfWork, community_id: str, course_id: str) -> Course:
    """A course of the community, or NotFound."""
    found = uow.courses.get(community_id, course_id)
    if found is None:
        raise NotFound(f"no course {course_id} in {community_id}")
    return found


def teacher(uow: TrainingUnitOfWork, community_id: str, teacher_id: str) -> Teacher:
    """A teacher of the community's pool, or NotFound."""
    found = uow.teachers.get(community_id, teacher_id)
    if found is None:
        raise NotFound(f"no teacher {teacher_id} in {community_id}")
    return found


def level(uow: TrainingUnitOfWork, community_id: str, level_id: str) -> Level:
    """A level of the community's table, or NotFound."""
    found = uow.levels.get(community_id, level_id)
    if found is None:
        raise NotFound(f"no level {level_id} in {community_id}")
    return found


def _ids(found: list[Course] | list[Level]) -> str:
    return ",".join(f.id for f in found)


def _reload_course(uow: TrainingUnitOfWork, cmd: CreateCourse, ref: str) -> Course:
    return course(uow, cmd.community_id, ref)


def _reload_courses(uow: TrainingUnitOfWork, cmd: CreateDefaultCourses, ref: str) -> list[Course]:
    return [course(uow, cmd.community_id, i) for i in ref.split(",") if i]


def _reload_teacher(uow: TrainingUnitOfWork, cmd: CreateTeacher, ref: str) -> Teacher:
    return teacher(uow, cmd.community_id, ref)


def _reload_level(uow: TrainingUnitOfWork, cmd: CreateLevel, ref: str) -> Level:
    return level(uow, cmd.community_id, ref)


def _reload_levels(uow: TrainingUnitOfWork, cmd: CreateDefaultLevels, ref: str) -> list[Level]:
    return [level(uow, cmd.community_id, i) for i in ref.split(",") if i]


@idempotent(_reload_course)
def create_course(cmd: CreateCourse, uow: TrainingUnitOfWork, clock: Clock = utc_now) -> Course:
    """Staff add a course."""
    access.require_staff(cmd.actor, cmd.community_id)
    new = Course(
        community_id=cmd.community_id,
        id=cmd.course_id,
        title=cmd.title,
        tier=cmd.tier,
        minutes=cmd.minutes,
        created_at=clock(),
        completion_percent=cmd.completion_percent,
        description=cmd.description,
        credits=cmd.credits,
    )
    uow.courses.add(new)
    return new


@idempotent(_reload_courses, reference=_ids)
def create_default_courses(
    cmd: CreateDefaultCourses, uow: TrainingUnitOfWork, clock: Clock = utc_now
) -> list[Course]:
    """Staff add the policy's courses (T1) the community does not have yet."""
    access.require_staff(cmd.actor, cmd.community_id)
    added = [
        default
        for default in default_courses(cmd.community_id, clock())
        if uow.courses.get(cmd.community_id, default.id) is None
    ]
    for default in added:
        uow.courses.add(default)
    return added


def list_courses(
    actor: Principal, community_id: str, offset: int, limit: int, uow: TrainingUnitOfWork
) -> tuple[list[Course], bool]:
    """A page of the community's courses by tier, then id; and whether more follow."""
    require_community(actor, community_id)
    with uow:
        found = uow.courses.all(community_id)
    return found[offset : offset + limit], len(found) > offset + limit


def get_course(
    actor: Principal, community_id: str, course_id: str, uow: TrainingUnitOfWork
) -> Course:
    """A course of the caller's community."""
    require_community(actor, community_id)
    with uow:
        return course(uow, community_id, course_id)


@idempotent(_reload_teacher)
def create_teacher(cmd: CreateTeacher, uow: TrainingUnitOfWork, clock: Clock = utc_now) -> Teacher:
    """Staff add a teacher qualified for courses the community offers."""
    access.require_staff(cmd.actor, cmd.community_id)
    for course_id in cmd.qualified_courses:
        course(uow, cmd.community_id, course_id)
    new = Teacher.add(
        cmd.community_id,
        cmd.display_name,
        cmd.kind,
        clock(),
        organisation=cmd.organisation,
        qualified_courses=cmd.qualified_courses,
        certificates=cmd.certificates,
    )
    uow.teachers.add(new)
    return new


def list_teachers(
    actor: Principal, community_id: str, offset: int, limit: int, uow: TrainingUnitOfWork
) -> tuple[list[Teacher], bool]:
    """A page of the teacher pool for staff; and whether more follow."""
    access.require_staff(actor, community_id)
    with uow:
        found = uow.teachers.page(community_id, offset, limit + 1)
    return found[:limit], len(found) > limit


def _require_room_for_levels(uow: TrainingUnitOfWork, community_id: str, adding: int) -> None:
    """FailedPrecondition if the table would pass MAX_LEVELS (it is read whole, unpaged)."""
    if len(uow.levels.all(community_id)) + adding > MAX_LEVELS:
        raise FailedPrecondition(f"a level table holds at most {MAX_LEVELS} levels")


@idempotent(_reload_level)
def create_level(cmd: CreateLevel, uow: TrainingUnitOfWork) -> Level:
    """Staff add a level to the table."""
    access.require_staff(cmd.actor, cmd.community_id)
    _require_room_for_levels(uow, cmd.community_id, 1)
    new = Level(
        community_id=cmd.community_id,
        id=cmd.level_id,
        title=cmd.title,
        credits_needed=cmd.credits_needed,
        tiers=cmd.tiers,
        allowance_fen=cmd.allowance_fen,
    )
    uow.levels.add(new)
    return new


@idempotent(_reload_levels, reference=_ids)
def create_default_levels(cmd: CreateDefaultLevels, uow: TrainingUnitOfWork) -> list[Level]:
    """Staff add the shipped levels the table does not have yet."""
    access.require_staff(cmd.actor, cmd.community_id)
    added = [
        default
        for default in default_levels(cmd.community_id)
        if uow.levels.get(cmd.community_id, default.id) is None
    ]
    _require_room_for_levels(uow, cmd.community_id, len(added))
    for default in added:
        uow.levels.add(default)
    return added


def list_levels(actor: Principal, community_id: str, uow: TrainingUnitOfWork) -> list[Level]:
    """The community's level table by credits needed."""
    require_community(actor, community_id)
    with uow:
        return uow.levels.all(community_id)
