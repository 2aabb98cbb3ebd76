"""/api/v1/me/…: the signed-in resident's own things (what their pages show)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from linli_gateway.entrypoints.problems import problem_responses
from linli_gateway.entrypoints.sessions import SignedIn, Svc
from linli_gateway.entrypoints.views import resident as views
from linli_gateway.entrypoints.views.common import checked_id
from linli_gateway.service_layer.charts import policy_year

router = APIRouter(
    prefix="/me",
    tags=["resident"],
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504),
)
RequestId = Field(min_length=1, max_length=200, description="a retry with the same id replays")


class AppealRequest(BaseModel):
    """An appeal against one of the resident's transactions."""

    transaction: str = Field(min_length=1, max_length=300)
    reason: str = Field(min_length=1, max_length=1000)
    request_id: str = RequestId


class RedeemRequest(BaseModel):
    """An item to redeem."""

    item: str = Field(min_length=1, max_length=300)
    request_id: str = RequestId


class Mutation(BaseModel):
    """A request that changes something and needs only its id."""

    request_id: str = RequestId


@router.get("")
async def get_overview(svc: Svc, person: SignedIn) -> views.Overview:
    """Profile, balances, points earned by month this year, and the history with reasons."""
    return await views.overview(svc, person, policy_year(datetime.now(UTC)))


@router.get("/appeals")
async def list_appeals(svc: Svc, person: SignedIn) -> list[views.Appeal]:
    """The resident's appeals, oldest first."""
    return await views.appeals(svc, person)


@router.post("/appeals", status_code=201)
async def create_appeal(
    svc: Svc, person: SignedIn, body: Annotated[AppealRequest, Body()]
) -> views.Appeal:
    """File an appeal against a posting (the committee decides it)."""
    return await views.file_appeal(svc, person, body.transaction, body.reason, body.request_id)


@router.get("/appeals/{appeal_id}")
async def get_appeal(svc: Svc, person: SignedIn, appeal_id: str) -> views.Appeal:
    """One of the resident's appeals."""
    return await views.appeal(svc, person, checked_id(appeal_id, "appeal"))


@router.get("/catalogue")
async def list_catalogue(svc: Svc, person: SignedIn) -> list[views.Item]:
    """The items on sale in the community."""
    return await views.catalogue(svc, person)


@router.get("/redemptions")
async def list_redemptions(svc: Svc, person: SignedIn) -> list[views.Redemption]:
    """The resident's redemptions, newest first."""
    return await views.redemptions(svc, person)


@router.post("/redemptions", status_code=201)
async def redeem(
    svc: Svc, person: SignedIn, body: Annotated[RedeemRequest, Body()]
) -> views.Redemption:
    """Redeem an item; the answer says where the saga ended (active: the voucher is ready)."""
    return await views.redeem(svc, person, body.item, body.request_id)


@router.get("/redemptions/{redemption_id}")
async def get_redemption(svc: Svc, person: SignedIn, redemption_id: str) -> views.Redemption:
    """One of the resident's redemptions."""
    return await views.redemption(svc, person, checked_id(redemption_id, "redemption"))


@router.get("/training")
async def get_training(svc: Svc, person: SignedIn) -> views.Training:
    """Courses with the resident's progress, credits and level."""
    return await views.training(svc, person)


@router.post("/eligibility-codes", status_code=201)
async def create_eligibility_code(
    svc: Svc, person: SignedIn, body: Annotated[Mutation, Body()]
) -> views.EligibilityCode:
    """A single-use code to show a partner."""
    return await views.eligibility_code(svc, person, body.request_id)


@router.get("/eligibility-checks")
async def list_eligibility_checks(svc: Svc, person: SignedIn) -> list[views.EligibilityCheck]:
    """What partners checked with the resident's codes."""
    return await views.eligibility_checks(svc, person)


@router.get("/face")
async def get_face(svc: Svc, person: SignedIn) -> views.Face:
    """The resident's face consents."""
    return await views.face(svc, person)


@router.post("/face/consent", status_code=204)
async def give_face_consent(
    request: Request, svc: Svc, person: SignedIn, body: Annotated[Mutation, Body()]
) -> None:
    """Consent to face sign-in under the community's current policy text."""
    settings = request.app.state.settings
    await views.give_face_consent(
        svc, person, settings.face_policy_version, settings.face_retention_days, body.request_id
    )


@router.post("/face/withdraw", status_code=204)
async def withdraw_face_consent(
    svc: Svc, person: SignedIn, body: Annotated[Mutation, Body()]
) -> None:
    """Withdraw the consent; identity deletes the face templates at once."""
    await views.withdraw_face_consent(svc, person, body.request_id)
