"""Leaderboards from the ledger (P7): what the boards of a year hold, and rebuilding them."""

from __future__ import annotations

from collections import defaultdict

from linli_kit.domain import Clock, utc_now
from linli_kit.usecases import idempotent
from linli_points.domain import access, standings
from linli_points.domain.periods import year_bounds
from linli_points.domain.runs import Run, RunKind, record_run
from linli_points.service_layer.commands import RebuildLeaderboard
from linli_points.service_layer.ports import LeaderboardStore, PointsUnitOfWork
from linli_points.service_layer.runs import reload_run


def _boards(uow: PointsUnitOfWork, community_id: str, year: int) -> dict[str, dict[str, int]]:
    start, end = year_bounds(year)
    earned = standings.yearly_earnings(uow.ledger.find(community_id, since=start, until=end), year)
    units = uow.directory.org_units(community_id)
    boards: dict[str, dict[str, int]] = defaultdict(dict)
    boards[standings.COMMUNITY_SCOPE] = {}
    for resident, score in earned.items():
        for scope in standings.scopes_for(units.get(resident, "")):
            boards[scope][resident] = score
    return dict(boards)


def leaderboards(community_id: str, year: int, uow: PointsUnitOfWork) -> dict[str, dict[str, int]]:
    """A community's boards for a year from the ledger (scope → resident → score)."""
    with uow:
        return _boards(uow, community_id, year)


@idempotent(reload_run)
def rebuild_leaderboards(
    cmd: RebuildLeaderboard,
    uow: PointsUnitOfWork,
    store: LeaderboardStore,
    clock: Clock = utc_now,
) -> Run:
    """Recompute a year's boards from the ledger and swap them in; the run counts who ranks."""
    access.require_operator(cmd.actor, cmd.community_id)
    boards = _boards(uow, cmd.community_id, cmd.year)
    store.replace(cmd.community_id, cmd.year, boards)
    ranked = len(boards[standings.COMMUNITY_SCOPE])
    run = record_run(
        cmd.community_id, RunKind.REBUILD_LEADERBOARD, clock(), year=cmd.year, residents=ranked
    )
    uow.runs.add(run)
    return run
