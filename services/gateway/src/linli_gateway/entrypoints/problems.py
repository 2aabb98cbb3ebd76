"""Errors as HTTP: gRPC status → HTTP status, problem+json for the API, a page for people.

A service's refusal keeps its meaning (RFC 9457 problem details under /api, a friendly page
elsewhere); nothing unexpected ever reaches the browser as a traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from linli_gateway.entrypoints import rendering
from linli_gateway.entrypoints.csrf import CsrfRefused
from linli_gateway.entrypoints.i18n import N_
from linli_gateway.entrypoints.i18n import gettext as _
from linli_gateway.service_layer.boards import BoardsBusy

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

# What each gRPC status means to an HTTP client.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Titles people read, by HTTP status (translated when shown).
TITLES = {
    400: N_("The request is not valid"),
    401: N_("Please sign in"),
    403: N_("You may not do this"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("This cannot be done now"),
    413: N_("The request is too large"),
    422: N_("The request is not valid"),
    429: N_("Too many requests; please wait a moment"),
    500: N_("Something went wrong on our side"),
    502: N_("A service answered with an error"),
    503: N_("A service is not reachable right now"),
    504: N_("A service took too long to answer"),
}


PHRASES = frozenset(status.value for status in HTTPStatus)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    # The gRPC status name when a service refused (e.g. FAILED_PRECONDITION).
    code: str = ""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring problem+json bodies for these statuses."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


class NotSignedIn(Exception):
    """The page or call needs a person, and the session holds none (or it expired)."""


def wants_json(request: Request) -> bool:
    """Whether the caller is the JSON API (problem+json) rather than a person's browser."""
    return request.url.path.startswith("/api/")


def _problem(request: Request, status: int, detail: str, code: str = "") -> Response:
    title = _(TITLES.get(status, "Error"))
    if wants_json(request):
        body = Problem(title=title, status=status, detail=detail, code=code)
        return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_JSON)
    return rendering.render(
        request, "errors/error.html", {"status": status, "title": title, "detail": detail}, status
    )


async def on_rpc_error(request: Request, exc: Exception) -> Response:
    """A service's refusal, with its status mapped and its plain message kept."""
    assert isinstance(exc, grpc.aio.AioRpcError)
    status = HTTP_STATUS.get(exc.code(), 502)
    if status == 401 and not wants_json(request):
        return await on_not_signed_in(request, NotSignedIn())
    if status >= 500:
        log.warning("service call failed: %s %s", exc.code().name, exc.details())
    return _problem(request, status, exc.details() or "", exc.code().name)


async def on_not_signed_in(request: Request, exc: Exception) -> Response:
    """The API answers 401; a page sends the person to sign in and back."""
    if wants_json(request):
        return _problem(request, 401, _("Sign in first."))
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


async def on_csrf(request: Request, exc: Exception) -> Response:
    """403: the form or call did not carry this session's CSRF token."""
    detail = _("The form has expired or did not come from this site; please try again.")
    return _problem(request, 403, detail)


async def on_http(request: Request, exc: Exception) -> Response:
    """Starlette's and our own HTTP errors (404 for an unknown path, 405, ...)."""
    assert isinstance(exc, HTTPException)
    phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in PHRASES else ""
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    return _problem(request, exc.status_code, detail)


async def on_invalid(request: Request, exc: Exception) -> Response:
    """A request whose parameters do not match the API (422 with what is wrong)."""
    assert isinstance(exc, RequestValidationError)
    detail = "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return _problem(request, 422, detail)


async def on_busy(request: Request, exc: Exception) -> Response:
    """503: every live board this gateway may watch is in use."""
    return _problem(request, 503, str(exc))


async def on_timeout(request: Request, exc: Exception) -> Response:
    """504: a service did not answer in time."""
    return _problem(request, 504, "")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """500 without a traceback for the caller; the traceback goes to the log."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _problem(request, 500, "")


HANDLERS = {
    grpc.aio.AioRpcError: on_rpc_error,
    NotSignedIn: on_not_signed_in,
    CsrfRefused: on_csrf,
    HTTPException: on_http,
    RequestValidationError: on_invalid,
    BoardsBusy: on_busy,
    TimeoutError: on_timeout,
    Exception: on_unexpected,
}
