"""/api/v1/counter/…: a partner's counter signs in, checks and consumes vouchers (as its pages)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from linli_gateway.entrypoints.pages import counter as pages
from linli_gateway.entrypoints.problems import NotSignedIn, problem_responses
from linli_gateway.entrypoints.views import counter as views

router = APIRouter(
    prefix="/counter",
    tags=["counter"],
    responses=problem_responses(400, 401, 403, 409, 413, 422, 429, 500, 502, 503, 504),
)


class CounterSignIn(BaseModel):
    """A partner's counter credential."""

    partner: str = Field(min_length=1, max_length=40, description="the partner's id")
    key: str = Field(min_length=1, max_length=200, description="the partner's counter key")


class CounterSession(BaseModel):
    """The partner the counter is signed in as."""

    partner: str


class VoucherText(BaseModel):
    """A voucher as shown (its QR code's text)."""

    voucher: str = Field(min_length=1, max_length=views.VOUCHER_MAX)


class ConsumeRequest(VoucherText):
    """A voucher to use, once."""

    request_id: str = Field(min_length=1, max_length=200, description="a retry replays")


def _partner(request: Request) -> str:
    partner = pages.partner_of(request)
    if not partner:
        raise NotSignedIn()
    return partner


@router.post("/session")
async def sign_in(request: Request, body: Annotated[CounterSignIn, Body()]) -> CounterSession:
    """Sign this client in as the partner's counter (401 when the key is not its key)."""
    if not pages.admitted(request, body.partner.strip(), body.key.strip()):
        raise NotSignedIn()
    return CounterSession(partner=body.partner.strip())


@router.post("/check")
async def check(request: Request, body: Annotated[VoucherText, Body()]) -> views.Check:
    """Whether the voucher can be used now: offline (signature, item, expiry), then online."""
    partner = _partner(request)
    return await views.check(
        pages.counters(request),
        pages.voucher_keys(request),
        partner,
        body.voucher.strip(),
        datetime.now(UTC),
        request.app.state.settings.call_timeout_seconds,
    )


@router.post("/consume")
async def consume(request: Request, body: Annotated[ConsumeRequest, Body()]) -> views.Consumed:
    """Use the voucher, once (409 when it was used, cancelled or expired)."""
    partner = _partner(request)
    return await views.consume(
        pages.counters(request),
        partner,
        body.voucher.strip(),
        body.request_id,
        request.app.state.settings.call_timeout_seconds,
    )
