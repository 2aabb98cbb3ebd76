"""/api/v1/me/transfers and /api/v1/staff/settlement: the time bank (E4) as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Request
from pydantic import BaseModel, Field

from linli_gateway.entrypoints.problems import problem_responses
from linli_gateway.entrypoints.sessions import SignedIn, Svc
from linli_gateway.entrypoints.views import timebank as views
from linli_gateway.entrypoints.views.common import checked_id
from linli_gateway.service_layer.charts import POLICY_ZONE

router = APIRouter(
    tags=["time bank"],
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504),
)


class TransferRequest(BaseModel):
    """Points to send to a resident of a peer community."""

    peer: str = Field(pattern=r"^[a-z][a-z0-9-]{1,62}$", description="a configured peer's id")
    recipient: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", description="their resident id there"
    )
    amount_centipoints: int = Field(ge=1, le=100_000_000)
    memo: str = Field(default="", max_length=200)
    request_id: str = Field(
        min_length=1, max_length=100, description="a retry with the same id replays"
    )


class Peers(BaseModel):
    """The peer communities a resident may send points to."""

    peers: list[str]


@router.get("/me/transfers")
async def list_transfers(svc: Svc, person: SignedIn) -> views.Transfers:
    """The resident's transfers, newest first (served: false when there is no time bank)."""
    return await views.transfers(svc, person)


@router.get("/me/transfers/peers")
async def list_peers(request: Request, person: SignedIn) -> Peers:
    """The peer communities configured for the time bank."""
    return Peers(peers=list(request.app.state.settings.peers()))


@router.post("/me/transfers", status_code=201)
async def create_transfer(
    request: Request, svc: Svc, person: SignedIn, body: Annotated[TransferRequest, Body()]
) -> views.Transfer:
    """Send points; answers once the peer decided, or pending (follow it with GET)."""
    if body.peer not in request.app.state.settings.peers():
        raise HTTPException(404, f"{body.peer} is not a peer community")
    return await views.send(
        svc,
        person,
        body.peer,
        body.recipient,
        body.amount_centipoints,
        body.memo,
        body.request_id,
    )


@router.get("/me/transfers/{transfer_id}")
async def get_transfer(svc: Svc, person: SignedIn, transfer_id: str) -> views.Transfer:
    """One transfer and its state."""
    return await views.transfer(svc, person, checked_id(transfer_id, "transfer"))


@router.get("/staff/settlement")
async def get_settlement(
    svc: Svc,
    person: SignedIn,
    year: Annotated[int | None, Query(ge=2000, le=3000)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> views.Settlement:
    """A month's settlement per peer (default: this month) and each clearing balance."""
    now = datetime.now(UTC).astimezone(POLICY_ZONE)
    return await views.settlement(svc, person, year or now.year, month or now.month)
