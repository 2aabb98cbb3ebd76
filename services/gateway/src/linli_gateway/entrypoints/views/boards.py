"""The public leaderboards: which board a request names, and its places."""

from __future__ import annotations

from pydantic import BaseModel

from linli_gateway.service_layer.boards import BoardKey, Ranking

SCOPE_PART_MAX = 60


class Place(BaseModel):
    """One place on a board; the name masked by points."""

    rank: int
    display_name: str
    score_centipoints: int


class Board(BaseModel):
    """A board: its scope and year (0: the current one) and its places, best first."""

    scope: str
    year: int
    places: list[Place]


def scope_of(grid: str = "", building: str = "") -> str:
    """The scope a grid and building name ("community" without a grid)."""
    grid, building = grid.strip(), building.strip()
    if grid and building:
        return f"building:{grid}/{building}"
    if grid:
        return f"grid:{grid}"
    return "community"


def board(key: BoardKey, ranking: Ranking) -> Board:
    """The board as the page and the API show it (no resident ids: only masked names)."""
    places = [
        Place(rank=p.rank, display_name=p.display_name, score_centipoints=p.score_centipoints)
        for p in ranking
    ]
    return Board(scope=key.scope, year=key.year, places=places)
