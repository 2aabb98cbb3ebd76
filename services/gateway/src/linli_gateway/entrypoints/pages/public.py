"""Pages anyone may see: the start page and the live public leaderboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from linli_gateway.entrypoints.rendering import render, render_fragment
from linli_gateway.entrypoints.views.boards import SCOPE_PART_MAX, board, scope_of
from linli_gateway.service_layer.boards import BoardHub, BoardKey

router = APIRouter()


def board_key(
    request: Request,
    grid: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    building: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    year: Annotated[str, Query(pattern=r"^\d{0,4}$")] = "",
) -> BoardKey:
    """The board the query names (community, a grid, or a building of a grid; a year).

    The year is text: an empty field of the page's form means the current year.
    """
    community = request.app.state.settings.community
    return BoardKey(community, scope_of(grid, building), int(year or 0))


def hub(request: Request) -> BoardHub:
    """The shared leaderboard watches."""
    found: BoardHub = request.app.state.boards
    return found


Key = Annotated[BoardKey, Depends(board_key)]
Hub = Annotated[BoardHub, Depends(hub)]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """The start page."""
    return render(request, "public/home.html")


@router.get("/leaderboard", response_class=HTMLResponse)
async def leaderboard(
    request: Request,
    key: Key,
    hub: Hub,
    grid: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
    building: Annotated[str, Query(max_length=SCOPE_PART_MAX)] = "",
) -> HTMLResponse:
    """A board with its places; it follows the changes live (SSE) without a reload."""
    shown = board(key, await hub.ranking(key))
    query = request.url.query
    context = {
        "board": shown,
        "grid": grid,
        "building": building,
        "stream": f"/leaderboard/stream?{query}",
    }
    return render(request, "public/leaderboard.html", context)


async def _opened(key: Key, hub: Hub) -> BoardKey:
    """Open (or join) the board's watch before the stream starts, so a refusal is a status."""
    await hub.ranking(key)
    return key


@router.get("/leaderboard/stream", response_class=EventSourceResponse)
async def leaderboard_stream(
    key: Annotated[BoardKey, Depends(_opened)], hub: Hub
) -> AsyncIterator[ServerSentEvent]:
    """The board's places as HTML, now and after every change (htmx's sse-swap="board")."""
    async with hub.follow(key) as queue:
        while True:
            ranking = await queue.get()
            html = render_fragment("public/board.html", {"board": board(key, ranking)})
            yield ServerSentEvent(raw_data=html, event="board")
