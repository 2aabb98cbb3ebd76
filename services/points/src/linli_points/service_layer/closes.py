"""Period closes: P2 bonuses of ended weeks, P4 expiry of ended years, and when they run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from linli_kit.domain import Clock, utc_now
from linli_kit.errors import InvalidArgument
from linli_kit.principals import SYSTEM
from linli_kit.usecases import idempotent
from linli_points.domain import access, closing
from linli_points.domain.ledger import LedgerTransaction, RuleKind
from linli_points.domain.periods import policy_year, week_end, week_of, year_bounds
from linli_points.domain.rules import DEFAULT_CATALOG, RuleCatalog
from linli_points.domain.runs import Run, RunKind, record_run
from linli_points.service_layer.commands import ClosePeriods, CloseYear
from linli_points.service_layer.ports import PointsUnitOfWork
from linli_points.service_layer.runs import reload_run


def posted_by(uow: PointsUnitOfWork, run: Run) -> list[LedgerTransaction]:
    """The transactions a run posted, in the order it posted them."""
    found = [uow.ledger.get(run.community_id, t) for t in run.transaction_ids]
    return [t for t in found if t is not None]


def _post_as_run(
    uow: PointsUnitOfWork,
    community_id: str,
    kind: RunKind,
    posted: list[LedgerTransaction],
    at: datetime,
    year: int = 0,
) -> Run:
    for transaction in posted:
        uow.ledger.post(transaction)
    run = record_run(community_id, kind, at, year=year, transaction_ids=tuple(t.id for t in posted))
    uow.runs.add(run)
    return run


@idempotent(reload_run)
def close_periods(
    cmd: ClosePeriods,
    uow: PointsUnitOfWork,
    catalog: RuleCatalog = DEFAULT_CATALOG,
    clock: Clock = utc_now,
) -> Run:
    """Post the P2 bonuses of every week that has ended; re-running posts nothing new."""
    access.require_operator(cmd.actor, cmd.community_id)
    book = catalog.for_community(cmd.community_id)
    bonuses = [*book.of_kind(RuleKind.FIRST_PARTICIPATION), *book.of_kind(RuleKind.STREAK)]
    now = clock()
    due = closing.period_bonuses(
        community_id=cmd.community_id,
        book=book,
        transactions=uow.ledger.find(cmd.community_id),
        closed_before=now,
        already=uow.ledger.sources(cmd.community_id, [r.id for r in bonuses]),
    )
    return _post_as_run(uow, cmd.community_id, RunKind.CLOSE_PERIODS, due, now)


@idempotent(reload_run)
def close_year(cmd: CloseYear, uow: PointsUnitOfWork, clock: Clock = utc_now) -> Run:
    """Expire unspent yearly points of an ended year by posting; safe to re-run and to run late."""
    access.require_operator(cmd.actor, cmd.community_id)
    now = clock()
    if now < year_bounds(cmd.year)[1]:
        raise InvalidArgument(f"{cmd.year} has not ended yet in Asia/Shanghai")
    due = closing.year_end_expiries(
        community_id=cmd.community_id,
        year=cmd.year,
        yearly=uow.ledger.find(cmd.community_id),
        at=now,
    )
    return _post_as_run(uow, cmd.community_id, RunKind.CLOSE_YEAR, due, now, cmd.year)


def next_boundary(now: datetime) -> datetime:
    """The next week or year boundary (Asia/Shanghai) after an instant."""
    return min(week_end(week_of(now)), year_bounds(policy_year(now))[1])


def close_ended_periods(
    uow_factory: Callable[[], PointsUnitOfWork], catalog: RuleCatalog, now: datetime
) -> None:
    """Post due P2 bonuses and expire the previous year in every community (idempotent)."""
    with uow_factory() as uow:
        communities = uow.ledger.communities()
    for community_id in communities:
        closed = CloseYear(SYSTEM, "", community_id, policy_year(now) - 1)
        close_periods(ClosePeriods(SYSTEM, "", community_id), uow_factory(), catalog, lambda: now)
        close_year(closed, uow_factory(), lambda: now)
