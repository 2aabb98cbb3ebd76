"""Flags for staff: concerns a rule raised, and suspicious refusals recorded before refusing."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

from linli_attendance.domain.activities import Session
from linli_attendance.domain.review import Concern, Flag, Suspicious
from linli_attendance.service_layer.ports import AttendanceUnitOfWork

P = ParamSpec("P")
C = TypeVar("C")
R = TypeVar("R")


def flagging_refusals(
    use_case: Callable[Concatenate[C, AttendanceUnitOfWork, P], R],
) -> Callable[Concatenate[C, AttendanceUnitOfWork, P], R]:
    """Record a suspicious refusal as a flag staff can see (in its own commit), then refuse."""

    @functools.wraps(use_case)
    def flagged(cmd: C, uow: AttendanceUnitOfWork, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return use_case(cmd, uow, *args, **kwargs)
        except Suspicious as refusal:
            with uow:
                uow.flags.add(refusal.flag())
                uow.commit()
            raise

    return flagged


def raise_flags(
    uow: AttendanceUnitOfWork, session: Session, concerns: Sequence[Concern], now: datetime
) -> None:
    """Store a flag about the session for each concern its rules raised."""
    for concern in concerns:
        uow.flags.add(
            Flag.raise_(
                session.community_id,
                concern,
                session.resident_id,
                session.activity_id,
                session.id,
                now,
            )
        )
