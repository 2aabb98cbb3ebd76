"""What the operators watch: each community's teaching behind its target, allowances unpaid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linli_training.domain.sessions import local_year, teaching_report, year_bounds
from linli_training.service_layer.ports import TrainingUnitOfWork

# An allowance is overdue once it has waited this long to be paid.
PAYMENT_DUE = timedelta(days=30)


@dataclass(frozen=True)
class Standing:
    """One community's teaching this year against its target, and its overdue allowances."""

    community_id: str
    target_minutes: int
    shortfall_minutes: int
    overdue_allowances: int


def standings(
    uow_factory: Callable[[], TrainingUnitOfWork], target_hours: int, now: datetime
) -> list[Standing]:
    """Every community's standing at the time (bounded by MAX_COMMUNITIES)."""
    since, until = year_bounds(local_year(now))
    with uow_factory() as uow:
        overdue = uow.allowances.unpaid_before(now - PAYMENT_DUE)
        found = []
        for community in sorted(set(uow.sessions.communities()) | set(overdue)):
            taught = uow.sessions.taught(community, since, until)
            report = teaching_report(local_year(now), target_hours, taught, {})
            found.append(
                Standing(
                    community,
                    report.target_minutes,
                    report.shortfall_minutes,
                    overdue.get(community, 0),
                )
            )
    return found
