"""/api/v1/leaderboard: the public boards (names masked by points)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from linli_gateway.entrypoints.pages.public import Hub
from linli_gateway.entrypoints.problems import problem_responses
from linli_gateway.entrypoints.views.boards import SCOPE_PART_MAX, Board, board, scope_of
from linli_gateway.service_layer.boards import BoardKey

router = APIRouter(tags=["leaderboard"], responses=problem_responses(400, 422, 429, 500, 503, 504))


@router.get("/leaderboard")
async def get_leaderboard(
    request: Request,
    hub: Hub,
    grid: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    building: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    year: Annotated[int, Query(ge=0, le=9998, description="0: the current year")] = 0,
) -> Board:
    """A board: the community's, a grid's, or a building's (grid and building) in a year."""
    key = BoardKey(request.app.state.settings.community, scope_of(grid, building), year)
    return board(key, await hub.ranking(key))
