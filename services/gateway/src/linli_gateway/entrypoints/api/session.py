"""/api/v1/session: who is signed in, and the CSRF token unsafe calls must send."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from linli_gateway.entrypoints.csrf import csrf_token
from linli_gateway.entrypoints.problems import problem_responses

router = APIRouter(tags=["session"], responses=problem_responses(422, 500))


class SessionState(BaseModel):
    """The browser session as the API sees it."""

    signed_in: bool
    resident: str = ""
    roles: list[str] = []
    # Send as the X-CSRF-Token header on every POST, PUT, PATCH and DELETE.
    csrf_token: str


@router.get("/session")
async def get_session(request: Request) -> SessionState:
    """The session: the person signed in (if any) and its CSRF token."""
    session = request.session
    return SessionState(
        signed_in="access" in session,
        resident=str(session.get("resident", "")),
        roles=list(session.get("roles", ())),
        csrf_token=csrf_token(request),
    )
