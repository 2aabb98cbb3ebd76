"""The shop counter: a partner's cashier scans (camera + jsQR) or types a voucher, sees whether
it is valid (item, expiry), and consumes it once; a second consumption is refused visibly.

A counter signs in with its partner id and counter key (adapters/counters.py): the session
then holds only the partner id, and rewards is called with that partner's certificate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linli_gateway.adapters.counters import Counters
from linli_gateway.adapters.vouchers import VoucherKeys
from linli_gateway.entrypoints.csrf import csrf_token
from linli_gateway.entrypoints.i18n import gettext as _
from linli_gateway.entrypoints.rendering import render
from linli_gateway.entrypoints.views import counter as views

router = APIRouter(prefix="/counter")
SESSION_KEY = "counter"
Voucher = Annotated[str, Form(min_length=1, max_length=views.VOUCHER_MAX)]
# A refusal of ConsumeVoucher the cashier can act on (the voucher, not the counter, is wrong).
REFUSED = (
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED,
)


def counters(request: Request) -> Counters:
    """The partners' counter credentials."""
    found: Counters = request.app.state.counters
    return found


def voucher_keys(request: Request) -> VoucherKeys:
    """Rewards' voucher public keys."""
    found: VoucherKeys = request.app.state.vouchers
    return found


def admitted(request: Request, partner: str, key: str) -> bool:
    """Start a counter session as the partner when the key is its counter key."""
    if not counters(request).admits(partner, key):
        return False
    locale = request.session.get("lang")
    request.session.clear()
    if locale:
        request.session["lang"] = locale
    request.session[SESSION_KEY] = partner
    csrf_token(request)
    return True


def partner_of(request: Request) -> str:
    """The partner this browser's counter is signed in as ("" when none)."""
    partner = request.session.get(SESSION_KEY, "")
    return partner if isinstance(partner, str) and partner in counters(request).counters else ""


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> HTMLResponse:
    """The counter's sign-in: partner id and counter key."""
    return render(request, "counter/login.html", {"partner": ""})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    partner: Annotated[str, Form(min_length=1, max_length=40)],
    key: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Sign the counter in as the partner when the key is its counter key."""
    if not admitted(request, partner.strip(), key.strip()):
        error = _("The partner or the counter key is wrong.")
        context = {"partner": partner, "error": error}
        return render(request, "counter/login.html", context, 401)
    return RedirectResponse("/counter", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the counter's session."""
    request.session.pop(SESSION_KEY, None)
    return RedirectResponse("/counter/login", status_code=303)


@router.get("", response_class=HTMLResponse)
async def counter(request: Request) -> Response:
    """Scan a voucher's QR code with the camera, or type or paste it."""
    partner = partner_of(request)
    if not partner:
        return RedirectResponse("/counter/login", status_code=303)
    return render(request, "counter/scan.html", {"partner": partner})


@router.post("/check", response_class=HTMLResponse)
async def check(request: Request, voucher: Voucher) -> Response:
    """Whether the voucher can be used now: its signature, item and expiry, then its state."""
    partner = partner_of(request)
    if not partner:
        return RedirectResponse("/counter/login", status_code=303)
    timeout = request.app.state.settings.call_timeout_seconds
    found = await views.check(
        counters(request),
        voucher_keys(request),
        partner,
        voucher.strip(),
        datetime.now(UTC),
        timeout,
    )
    context = {"partner": partner, "check": found, "request_id": views.new_request_id()}
    return render(request, "counter/check.html", context)


@router.post("/consume", response_class=HTMLResponse)
async def consume(
    request: Request,
    voucher: Voucher,
    request_id: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Use the voucher, once; a refusal (already used, cancelled, expired) is shown as such."""
    partner = partner_of(request)
    if not partner:
        return RedirectResponse("/counter/login", status_code=303)
    timeout = request.app.state.settings.call_timeout_seconds
    try:
        used = await views.consume(counters(request), partner, voucher.strip(), request_id, timeout)
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in REFUSED:
            raise
        context = {"partner": partner, "used": None, "refusal": exc.details() or ""}
        return render(request, "counter/consumed.html", context, 409)
    return render(
        request, "counter/consumed.html", {"partner": partner, "used": used, "refusal": ""}
    )
