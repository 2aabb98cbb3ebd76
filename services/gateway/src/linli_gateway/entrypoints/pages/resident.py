"""The resident's own pages: points and their reasons, appeals, rewards and vouchers, training,
partners' eligibility codes, face consent. Every call carries the resident's own token."""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import UTC, datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linli_gateway.entrypoints.rendering import render
from linli_gateway.entrypoints.sessions import SignedIn, Svc
from linli_gateway.entrypoints.views import resident as views
from linli_gateway.entrypoints.views.common import checked_id, last
from linli_gateway.service_layer.charts import bar_chart, policy_year

router = APIRouter(prefix="/me")
RequestId = Annotated[str, Form(min_length=1, max_length=200)]


def qr_data_uri(text: str) -> str:
    """A QR code of the text as an SVG data URI (for an <img>)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=6, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Balances, points by month this year, and every posting with its reason."""
    year = policy_year(datetime.now(UTC))
    seen = await views.overview(svc, person, year)
    chart = bar_chart(seen.monthly_centipoints)
    return render(request, "resident/overview.html", {"me": seen, "chart": chart, "section": "me"})


@router.get("/appeals", response_class=HTMLResponse)
async def appeals(
    request: Request, svc: Svc, person: SignedIn, transaction: str = ""
) -> HTMLResponse:
    """The resident's appeals and how each stands; with ?transaction=, the form to file one."""
    filed = await views.appeals(svc, person)
    context = {
        "appeals": filed,
        "transaction": transaction
        if transaction.startswith(f"communities/{person.community}/transactions/")
        else "",
        "request_id": views.new_request_id(),
        "section": "appeals",
    }
    return render(request, "resident/appeals.html", context)


@router.post("/appeals")
async def file_appeal(
    request: Request,
    svc: Svc,
    person: SignedIn,
    transaction: Annotated[str, Form(min_length=1, max_length=300)],
    reason: Annotated[str, Form(min_length=1, max_length=1000)],
    request_id: RequestId,
) -> Response:
    """File an appeal against a posting; the committee decides it."""
    filed = await views.file_appeal(svc, person, transaction, reason.strip(), request_id)
    return RedirectResponse(f"/me/appeals/{last(filed.appeal)}", status_code=303)


@router.get("/appeals/{appeal_id}", response_class=HTMLResponse)
async def appeal(request: Request, svc: Svc, person: SignedIn, appeal_id: str) -> HTMLResponse:
    """One appeal: what was disputed, why, and the committee's decision when there is one."""
    found = await views.appeal(svc, person, checked_id(appeal_id, "appeal"))
    return render(request, "resident/appeal.html", {"appeal": found, "section": "appeals"})


@router.get("/rewards", response_class=HTMLResponse)
async def rewards(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The catalogue to redeem from, and the resident's redemptions."""
    items, mine, money = await asyncio.gather(
        views.catalogue(svc, person), views.redemptions(svc, person), views.balances(svc, person)
    )
    context = {
        "items": items,
        "redemptions": mine,
        "balances": money,
        "request_id": views.new_request_id(),
        "section": "rewards",
    }
    return render(request, "resident/rewards.html", context)


@router.post("/rewards")
async def redeem(
    request: Request,
    svc: Svc,
    person: SignedIn,
    item: Annotated[str, Form(min_length=1, max_length=300)],
    request_id: RequestId,
) -> Response:
    """Redeem an item; its voucher is shown next."""
    done = await views.redeem(svc, person, item, request_id)
    return RedirectResponse(f"/me/vouchers/{last(done.redemption)}", status_code=303)


@router.get("/vouchers/{redemption_id}", response_class=HTMLResponse)
async def voucher(request: Request, svc: Svc, person: SignedIn, redemption_id: str) -> HTMLResponse:
    """A redemption and, while it can be used, its voucher as a QR code."""
    checked = checked_id(redemption_id, "voucher")
    found = await views.redemption(svc, person, checked)
    image = ""
    if found.has_voucher and found.state == "active":
        svg = await views.voucher_svg(svc, person, checked)
        image = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    context = {"redemption": found, "image": image, "section": "rewards"}
    return render(request, "resident/voucher.html", context)


@router.get("/training", response_class=HTMLResponse)
async def training(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Courses, the resident's hours in each, credits and level."""
    found = await views.training(svc, person)
    return render(request, "resident/training.html", {"training": found, "section": "training"})


@router.get("/partners", response_class=HTMLResponse)
async def partners(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Make a code to show a partner; see what partners checked with the codes."""
    checks = await views.eligibility_checks(svc, person)
    context = {
        "checks": checks,
        "code": None,
        "request_id": views.new_request_id(),
        "section": "partners",
    }
    return render(request, "resident/partners.html", context)


@router.post("/partners", response_class=HTMLResponse)
async def eligibility_code(
    request: Request, svc: Svc, person: SignedIn, request_id: RequestId
) -> HTMLResponse:
    """A new single-use code, as text and as a QR code."""
    code = await views.eligibility_code(svc, person, request_id)
    checks = await views.eligibility_checks(svc, person)
    context = {
        "checks": checks,
        "code": code,
        "qr": qr_data_uri(code.code),
        "request_id": views.new_request_id(),
        "section": "partners",
    }
    return render(request, "resident/partners.html", context)


@router.get("/face", response_class=HTMLResponse)
async def face(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The resident's face consents; give or withdraw."""
    found = await views.face(svc, person)
    settings = request.app.state.settings
    context = {
        "face": found,
        "policy_version": settings.face_policy_version,
        "retention_days": settings.face_retention_days,
        "request_id": views.new_request_id(),
        "section": "face",
    }
    return render(request, "resident/face.html", context)


@router.post("/face/consent")
async def give_consent(
    request: Request, svc: Svc, person: SignedIn, request_id: RequestId
) -> Response:
    """Consent to face sign-in under the community's current policy text."""
    settings = request.app.state.settings
    await views.give_face_consent(
        svc, person, settings.face_policy_version, settings.face_retention_days, request_id
    )
    return RedirectResponse("/me/face", status_code=303)


@router.post("/face/withdraw")
async def withdraw_consent(svc: Svc, person: SignedIn, request_id: RequestId) -> Response:
    """Withdraw the consent; identity deletes the face templates at once."""
    await views.withdraw_face_consent(svc, person, request_id)
    return RedirectResponse("/me/face", status_code=303)
