"""/api/v1/leaderboard: the public boards (names masked by points)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from linli.points.v1 import points_service_pb2 as pts

from linli_gateway.adapters.boards import BOARD_SIZE, place
from linli_gateway.entrypoints.problems import problem_responses
from linli_gateway.entrypoints.sessions import Svc
from linli_gateway.entrypoints.views.boards import SCOPE_PART_MAX, Board, board, scope_of
from linli_gateway.service_layer.boards import BoardKey

router = APIRouter(tags=["leaderboard"], responses=problem_responses(400, 422, 429, 500, 503, 504))


@router.get("/leaderboard")
async def get_leaderboard(
    request: Request,
    svc: Svc,
    grid: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    building: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    year: Annotated[int, Query(ge=0, le=9998, description="0: the current year")] = 0,
) -> Board:
    """A board: the community's, a grid's, or a building's (grid and building) in a year.

    One GetLeaderboard call (public); the live pages follow the boards through the hub instead.
    """
    key = BoardKey(request.app.state.settings.community, scope_of(grid, building), year)
    ask = pts.GetLeaderboardRequest(
        parent=f"communities/{key.community}", scope=key.scope, year=year, page_size=BOARD_SIZE
    )
    reply = await svc.points.GetLeaderboard(ask, timeout=svc.timeout)
    return board(key, tuple(place(e) for e in reply.entries))
