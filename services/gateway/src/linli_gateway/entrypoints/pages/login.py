"""Signing in and out: residents by phone and a one-time code, staff by password."""

from __future__ import annotations

import uuid
from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from linli.identity.v1 import identity_service_pb2 as idn

from linli_gateway.entrypoints.i18n import gettext as _
from linli_gateway.entrypoints.rendering import render
from linli_gateway.entrypoints.sessions import Svc, browser, start_session

router = APIRouter()
Phone = Annotated[str, Form(max_length=20)]
Next = Annotated[str, Form(max_length=500)]


def local_path(target: str | None, default: str = "/me") -> str:
    """Where to go after signing in: a path on this site only (never //host or a URL)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _community(request: Request) -> str:
    return f"communities/{request.app.state.settings.community}"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/me") -> HTMLResponse:
    """Step 1 for a resident: their phone number."""
    return render(request, "login/phone.html", {"next": local_path(next), "phone": ""})


@router.post("/login/code", response_class=HTMLResponse)
async def send_code(request: Request, svc: Svc, phone: Phone, next: Next = "/me") -> HTMLResponse:
    """Ask identity to send a one-time code; step 2 asks for it."""
    ask = idn.RequestLoginCodeRequest(
        parent=_community(request), phone=phone.strip(), request_id=str(uuid.uuid4())
    )
    try:
        await svc.identity.RequestLoginCode(ask, metadata=browser(request), timeout=svc.timeout)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        context = {"next": local_path(next), "phone": phone, "error": exc.details()}
        return render(request, "login/phone.html", context, 400)
    return render(request, "login/code.html", {"next": local_path(next), "phone": phone.strip()})


@router.post("/login")
async def login_with_code(
    request: Request,
    svc: Svc,
    phone: Phone,
    code: Annotated[str, Form(max_length=10)],
    next: Next = "/me",
) -> Response:
    """Exchange the code for the person's tokens and start their session."""
    login = idn.LoginWithCodeRequest(
        parent=_community(request),
        phone=phone.strip(),
        code=code.strip(),
        request_id=str(uuid.uuid4()),
    )
    try:
        reply = await svc.identity.LoginWithCode(
            login, metadata=browser(request), timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT):
            raise
        context = {
            "next": local_path(next),
            "phone": phone,
            "error": _("The code is wrong or has expired."),
        }
        return render(request, "login/code.html", context, 401)
    start_session(request, reply.tokens)
    return RedirectResponse(local_path(next), status_code=303)


@router.get("/login/staff", response_class=HTMLResponse)
async def staff_form(request: Request, next: str = "/me") -> HTMLResponse:
    """Staff sign in with their phone number and password."""
    return render(request, "login/staff.html", {"next": local_path(next), "phone": ""})


@router.post("/login/staff")
async def login_with_password(
    request: Request,
    svc: Svc,
    phone: Phone,
    password: Annotated[str, Form(max_length=128)],
    next: Next = "/me",
) -> Response:
    """Check the password with identity and start the staff member's session."""
    login = idn.LoginWithPasswordRequest(
        parent=_community(request),
        phone=phone.strip(),
        password=password,
        request_id=str(uuid.uuid4()),
    )
    try:
        reply = await svc.identity.LoginWithPassword(
            login, metadata=browser(request), timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT):
            raise
        context = {
            "next": local_path(next),
            "phone": phone,
            "error": _("The phone number or password is wrong."),
        }
        return render(request, "login/staff.html", context, 401)
    start_session(request, reply.tokens)
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, svc: Svc) -> Response:
    """End the session here and the refresh token at identity."""
    refresh = request.session.get("refresh")
    if refresh:
        bye = idn.LogoutRequest(refresh_token=str(refresh), request_id=str(uuid.uuid4()))
        try:
            await svc.identity.Logout(bye, metadata=browser(request), timeout=svc.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.INVALID_ARGUMENT,
            ):
                raise
    request.session.clear()
    return RedirectResponse("/", status_code=303)
