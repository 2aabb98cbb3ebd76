"""Jobs that run on a timer beside the service (wired in bootstrap through the kit's schedules)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from linli_attendance.domain.activities import counted_on_day
from linli_attendance.domain.limits import DEFAULT_LIMITS, LimitBook
from linli_attendance.service_layer import lookups
from linli_attendance.service_layer.flagging import raise_flags
from linli_attendance.service_layer.ports import AttendanceUnitOfWork

BATCH = 100
log = logging.getLogger(__name__)


def close_forgotten_sessions(
    uow: AttendanceUnitOfWork,
    now: datetime,
    limit: int = BATCH,
    *,
    limits: LimitBook = DEFAULT_LIMITS,
) -> int:
    """Close sessions open past their community's sign-out grace, held for review; how many."""
    # Harmless on two replicas at once: each locks the open sessions it reads (SKIP LOCKED),
    # and a session once closed is no longer open.
    closed = 0
    with uow:
        for session in uow.sessions.forgotten(now - limits.shortest_grace, limit):
            community = limits.of(session.community_id)
            if not session.is_forgotten(now, community):
                continue
            day = lookups.day_of(
                uow, session.community_id, session.resident_id, session.signed_in_at
            )
            concerns = session.close_forgotten(
                now, counted_on_day(day, session.signed_in_at), community
            )
            uow.sessions.save(session)
            raise_flags(uow, session, concerns, now)
            closed += 1
        uow.commit()
    return closed


def forgotten_sweep(
    make_uow: Callable[[], AttendanceUnitOfWork], limits: LimitBook = DEFAULT_LIMITS
) -> Callable[[datetime], int]:
    """The forgotten sign-out sweep as a scheduled job: one batch per run."""

    def sweep(now: datetime) -> int:
        closed = close_forgotten_sessions(make_uow(), now, limits=limits)
        if closed:
            log.info("held %d forgotten sign-outs for staff review", closed)
        return closed

    return sweep
