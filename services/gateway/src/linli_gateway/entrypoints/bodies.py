"""Bounded work per request: an unsafe request's body is limited before anything reads it."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large(path: str) -> Response:
    """413 before any session or page exists: problem+json for the API, plain text otherwise."""
    if path.startswith("/api/"):
        body = {
            "type": "about:blank",
            "title": "Request body too large",
            "status": 413,
            "detail": "",
            "code": "",
        }
        return JSONResponse(body, 413, media_type="application/problem+json")
    return PlainTextResponse("request body too large", 413)


class BodyLimit:
    """413 for a body over the limit (by Content-Length, or when a chunked one grows past it)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"").decode()
        if length and (not length.isdigit() or int(length) > self.max_bytes):
            await _too_large(scope["path"])(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                return {"type": "http.disconnect"}
            return message

        await self.app(scope, bounded, send)
