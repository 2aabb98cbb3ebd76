"""What one close, rebuild or committee change did, kept so that a retried request answers the same.

A close posts any number of transactions and a rebuild ranks a number of residents: neither is
one entity, so each run is recorded as one, and a retry reloads it by its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.domain import new_id


class RunKind(StrEnum):
    """What a run did."""

    CLOSE_PERIODS = "close_periods"  # P2 bonuses of ended weeks
    CLOSE_YEAR = "close_year"  # P4 expiry of a year's unspent points
    REBUILD_LEADERBOARD = "rebuild_leaderboard"  # P7 boards recomputed from the ledger
    COMMITTEE_CHANGE = "committee_change"  # P8 a member added or removed


@dataclass(frozen=True, kw_only=True)
class Run:
    """One run in a community: the transactions it posted, residents ranked, committee after."""

    id: str
    community_id: str
    kind: RunKind
    at: datetime
    year: int = 0
    transaction_ids: tuple[str, ...] = ()
    residents: int = 0
    members: tuple[str, ...] = ()


def record_run(
    community_id: str,
    kind: RunKind,
    at: datetime,
    *,
    year: int = 0,
    transaction_ids: tuple[str, ...] = (),
    residents: int = 0,
    members: tuple[str, ...] = (),
) -> Run:
    """A new run with an id of its own."""
    return Run(
        id=new_id("u"),
        community_id=community_id,
        kind=kind,
        at=at,
        year=year,
        transaction_ids=transaction_ids,
        residents=residents,
        members=tuple(sorted(members)),
    )
