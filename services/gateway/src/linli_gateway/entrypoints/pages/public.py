"""Pages anyone may see: the start page and the public leaderboard."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from linli_gateway.entrypoints.rendering import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """The start page."""
    return render(request, "public/home.html")
