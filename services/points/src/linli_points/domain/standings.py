"""Leaderboard scopes and honour tiers (P4, P7)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from linli_kit.errors import InvalidArgument
from linli_points.domain.ledger import LedgerTransaction
from linli_points.domain.periods import policy_year

COMMUNITY_SCOPE = "community"


def scopes_for(org_unit: str) -> list[str]:
    """The boards a resident ranks on: community, grid and building ('grid-1/building-3')."""
    found = [COMMUNITY_SCOPE]
    parts = [p for p in org_unit.split("/") if p]
    if parts:
        found.append(f"grid:{parts[0]}")
    if len(parts) > 1:
        found.append(f"building:{parts[0]}/{parts[1]}")
    return found


def check_scope(scope: str) -> str:
    """A scope as given if it names a board, else InvalidArgument."""
    kind, _, unit = scope.partition(":")
    if scope == COMMUNITY_SCOPE or (kind in ("grid", "building") and unit):
        return scope
    raise InvalidArgument(
        "scope must be 'community', 'grid:<grid>' or 'building:<grid>/<building>'"
    )


def yearly_earnings(transactions: Iterable[LedgerTransaction], year: int) -> Counter[str]:
    """What each resident earned in a policy year: awards, bonuses, compensations less reversals."""
    earned: Counter[str] = Counter()
    for t in transactions:
        if t.earned and policy_year(t.created_at) == year:
            earned[t.resident_id] += t.earned
    return earned


@dataclass(frozen=True)
class HonourTier:
    """A title carried from a number of lifetime points on (P4)."""

    name: str
    min_lifetime: int


# Not in the policy text: placeholders for each community to set (100, 500, 1000, 3000 points).
DEFAULT_TIERS = (
    HonourTier("bronze", 10_000),
    HonourTier("silver", 50_000),
    HonourTier("gold", 100_000),
    HonourTier("star", 300_000),
)


def tier_for(lifetime: int, tiers: Iterable[HonourTier] = DEFAULT_TIERS) -> str:
    """The highest tier a lifetime balance reaches ('' below the first)."""
    reached = [t for t in tiers if lifetime >= t.min_lifetime]
    return max(reached, key=lambda t: t.min_lifetime).name if reached else ""


@dataclass(frozen=True)
class Place:
    """A resident's rank (1 = top) and score on a board."""

    resident_id: str
    rank: int
    score: int


def places(standings: Iterable[tuple[str, int]]) -> list[Place]:
    """Ranked places from (resident, score) pairs already in board order."""
    return [Place(resident, i + 1, score) for i, (resident, score) in enumerate(standings)]


def changes(before: list[Place], after: list[Place]) -> tuple[list[Place], list[str]]:
    """The places that are new or moved or rescored, and the residents no longer shown."""
    old = {p.resident_id: p for p in before}
    now = {p.resident_id for p in after}
    return [p for p in after if old.get(p.resident_id) != p], [r for r in old if r not in now]


def masked(display_name: str) -> str:
    """A display name as the public board shows it: first and last character only (李*, 王*明)."""
    name = display_name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
