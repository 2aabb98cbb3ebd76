"""Use cases of ratings (A5): a resident served rates the session that served them."""

from __future__ import annotations

from linli_attendance.domain import access
from linli_attendance.domain.limits import DEFAULT_LIMITS, LimitBook
from linli_attendance.domain.ratings import Rating
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.commands import RateSession
from linli_attendance.service_layer.ports import AttendanceUnitOfWork
from linli_kit.domain import Clock, utc_now
from linli_kit.errors import AlreadyExists, NotFound
from linli_kit.usecases import idempotent


def _reload(uow: AttendanceUnitOfWork, cmd: RateSession, ref: str) -> Rating:
    rating = uow.ratings.get(cmd.community_id, cmd.session_id, ref)
    if rating is None:
        raise NotFound(f"no rating of session {cmd.session_id} by {ref}")
    return rating


@idempotent(_reload)
def rate_session(
    cmd: RateSession,
    uow: AttendanceUnitOfWork,
    clock: Clock = utc_now,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> Rating:
    """The caller rates a completed session they were served by; SessionRated leaves with it."""
    rated_by = access.resident_acting(cmd.actor, cmd.community_id)
    session = lookups.session(uow, cmd.community_id, cmd.session_id)
    if uow.ratings.get(cmd.community_id, cmd.session_id, rated_by) is not None:
        raise AlreadyExists("this resident has already rated this session")
    served_too = uow.sessions.at_occurrence(
        cmd.community_id, session.activity_id, session.window.starts_at
    )
    rating = Rating.give(
        session,
        rated_by,
        cmd.stars,
        clock(),
        {s.resident_id for s in served_too},
        limits.of(cmd.community_id),
    )
    uow.ratings.add(rating)
    return rating
