"""CSRF: a token bound to the session, carried by every form and every unsafe call.

Forms send it as the `csrf_token` field (`{{ csrf_field }}` in a template), htmx and the JSON
API as the `X-CSRF-Token` header (the base template sets it for htmx). The check runs as an
application-wide dependency, so no route can forget it.
"""

from __future__ import annotations

import secrets

from fastapi import Request

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD, CSRF_HEADER = "csrf_token", "x-csrf-token"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token."""


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    session = request.session
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose token (header or form field) is not the session's."""
    if request.method not in UNSAFE:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORMS):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise CsrfRefused()
