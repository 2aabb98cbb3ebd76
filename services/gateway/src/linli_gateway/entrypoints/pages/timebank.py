"""The time bank's pages (E4): a resident sends points to a resident of a peer community and
follows each transfer, and declares the relatives elsewhere who may send them points; staff see
the month's settlement and the clearing balances, and confirm declared relatives."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linli_gateway.entrypoints.i18n import gettext as _
from linli_gateway.entrypoints.rendering import render
from linli_gateway.entrypoints.sessions import Person, SignedIn, Svc
from linli_gateway.entrypoints.views import relatives as relative_views
from linli_gateway.entrypoints.views import resident as resident_views
from linli_gateway.entrypoints.views import timebank as views
from linli_gateway.entrypoints.views.common import ID, checked_id
from linli_gateway.service_layer.charts import POLICY_ZONE

router = APIRouter(prefix="/me/timebank")
staff_router = APIRouter(prefix="/staff/timebank")
MAX_POINTS = Decimal(1_000_000)  # points' own bound on one transfer (10^8 hundredths)
# A refusal of the form the resident can correct (shown beside it, not as an error page).
FORM_REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
    }
)


def centipoints(amount: str) -> int | None:
    """A typed amount of points ("2", "2.5") in hundredths, or None when it is not one."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        return None
    if (
        not value.is_finite()
        or value <= 0
        or value > MAX_POINTS
        or value != value.quantize(Decimal("0.01"))
    ):
        return None
    return int(value * 100)


async def _page(
    request: Request,
    svc: Svc,
    person: Person,
    error: str = "",
    status: int = 200,
    relative_error: str = "",
) -> HTMLResponse:
    found = await views.transfers(svc, person)
    balances = await resident_views.balances(svc, person) if found.served else None
    relatives = await relative_views.mine(svc, person) if found.served else []
    context = {
        "relatives": relatives,
        "relations": relative_views.RELATIONS,
        "section": "timebank",
        "bank": found,
        "balances": balances,
        "peers": request.app.state.settings.peers(),
        "request_id": resident_views.new_request_id(),
        "error": error,
        "relative_error": relative_error,
        "pending": any(t.state == "pending" for t in found.transfers),
    }
    return render(request, "timebank/resident.html", context, status)


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The form to send points to a peer community's resident, and the resident's transfers."""
    return await _page(request, svc, person)


@router.post("")
async def send(
    request: Request,
    svc: Svc,
    person: SignedIn,
    peer: Annotated[str, Form(min_length=1, max_length=63)],
    recipient: Annotated[str, Form(min_length=1, max_length=100)],
    amount: Annotated[str, Form(min_length=1, max_length=20)],
    request_id: Annotated[str, Form(min_length=1, max_length=100)],
    memo: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Send the points (once per request id) and show how the transfer stands."""
    hundredths = centipoints(amount)
    if peer not in request.app.state.settings.peers():
        return await _page(request, svc, person, _("Choose one of the peer communities."), 400)
    if not ID.match(recipient.strip()):
        return await _page(request, svc, person, _("Type the recipient's resident id."), 400)
    if hundredths is None:
        detail = _("The amount is a number of points above 0, with at most two decimals.")
        return await _page(request, svc, person, detail, 400)
    try:
        sent = await views.send(
            svc, person, peer, recipient.strip(), hundredths, memo.strip(), request_id
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in FORM_REFUSALS:
            raise
        return await _page(request, svc, person, exc.details() or "", 409)
    return RedirectResponse(f"/me/timebank/{sent.transfer_id}", status_code=303)


@router.post("/relatives")
async def declare_relative(
    request: Request,
    svc: Svc,
    person: SignedIn,
    phone: Annotated[str, Form(min_length=1, max_length=20)],
    relation: Annotated[str, Form(min_length=1, max_length=20)],
    request_id: Annotated[str, Form(min_length=1, max_length=100)],
    label: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """Declare a relative in another community by their phone number (staff confirm it)."""
    if relation not in relative_views.RELATIONS:
        detail = _("Choose how you are related.")
        return await _page(request, svc, person, status=400, relative_error=detail)
    try:
        await relative_views.declare(
            svc, person, phone.strip(), relation, label.strip(), request_id
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() not in {*FORM_REFUSALS, grpc.StatusCode.ALREADY_EXISTS}:
            raise
        detail = exc.details() or ""
        return await _page(request, svc, person, status=409, relative_error=detail)
    return RedirectResponse("/me/timebank#relatives", status_code=303)


@router.post("/relatives/{relative_id}/remove")
async def remove_relative(
    svc: Svc,
    person: SignedIn,
    relative_id: str,
    request_id: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    """Remove one of the resident's relatives."""
    await relative_views.remove(svc, person, checked_id(relative_id, "relative"), request_id)
    return RedirectResponse("/me/timebank#relatives", status_code=303)


@router.get("/{transfer_id}", response_class=HTMLResponse)
async def transfer(request: Request, svc: Svc, person: SignedIn, transfer_id: str) -> HTMLResponse:
    """One transfer and its state (the page polls while the peer has not decided)."""
    found = await views.transfer(svc, person, checked_id(transfer_id, "transfer"))
    return render(request, "timebank/transfer.html", {"section": "timebank", "t": found})


@staff_router.get("", response_class=HTMLResponse)
async def settlement(
    request: Request, svc: Svc, person: SignedIn, year: int = 0, month: int = 0
) -> HTMLResponse:
    """The month's settlement per peer (who owes whom, net) and each clearing balance."""
    now = datetime.now(UTC).astimezone(POLICY_ZONE)
    shown_year = year if 2000 <= year <= 3000 else now.year
    shown_month = month if 1 <= month <= 12 else now.month
    report = await views.settlement(svc, person, shown_year, shown_month)
    to_confirm = await relative_views.to_confirm(svc, person) if report.served else None
    context = {
        "section": "timebank",
        "report": report,
        "person": person,
        "to_confirm": to_confirm,
        "request_id": resident_views.new_request_id(),
    }
    return render(request, "timebank/settlement.html", context)


@staff_router.post("/relatives/confirm")
async def confirm_relative(
    svc: Svc,
    person: SignedIn,
    relative: Annotated[str, Form(min_length=1, max_length=200)],
    request_id: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    """Confirm a resident's declared relative (staff: checked against the household register)."""
    await relative_views.confirm(svc, person, relative, request_id)
    return RedirectResponse("/staff/timebank#relatives", status_code=303)
