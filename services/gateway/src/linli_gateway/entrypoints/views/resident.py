"""A resident's own things, fetched with their token (the services refuse anyone else's)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime

from linli.identity.v1 import identity_service_pb2 as idn
from linli.partners.v1 import partners_service_pb2 as prt
from linli.points.v1 import points_service_pb2 as pts
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.training.v1 import training_service_pb2 as trn
from pydantic import BaseModel

from linli_gateway.adapters.services import Services
from linli_gateway.entrypoints.sessions import Person
from linli_gateway.entrypoints.views import postings
from linli_gateway.entrypoints.views.common import enum_name, every_page, last, when
from linli_gateway.service_layer.charts import monthly_earnings

HISTORY_SIZE = 200
APPEALS_SHOWN = 500  # a resident's own appeals: one page holds a lifetime's
CONSENTS_SHOWN = 50  # the newest of a resident's consent history
EARNING_KINDS = frozenset({"award", "reversal", "compensation"})


class Profile(BaseModel):
    """Who the resident is."""

    resident: str
    display_name: str
    org_unit: str
    roles: list[str]


class Balances(BaseModel):
    """Balances in hundredths of a point."""

    yearly_centipoints: int
    lifetime_centipoints: int
    reserved_centipoints: int
    honour_tier: str


class Posting(BaseModel):
    """One transaction as it changed the resident's yearly points, with its reason."""

    transaction: str
    time: datetime | None
    kind: str
    rule_kind: str
    reason: str  # points' own text (English)
    change_centipoints: int
    appealable: bool
    appeal: str = ""  # the appeal filed against it, if any
    appeal_state: str = ""
    rule_id: str = ""
    title: str = ""  # the reason in the request's language (postings.reason); "" shows `reason`
    detail: str = ""  # points' text where the title cannot say all of it


class Appeal(BaseModel):
    """An appeal and how it stands."""

    appeal: str
    transaction: str
    reason: str
    state: str
    decision_reason: str
    compensation_centipoints: int
    create_time: datetime | None
    decide_time: datetime | None


class Overview(BaseModel):
    """The resident's page: who, balances, points by month, history."""

    profile: Profile
    balances: Balances
    year: int
    monthly_centipoints: list[int]
    history: list[Posting]


class Item(BaseModel):
    """An item of the catalogue."""

    item: str
    title: str
    description: str
    kind: str
    price_centipoints: int
    stock: int
    partner: str


class Redemption(BaseModel):
    """A redemption and its voucher's state."""

    redemption: str
    item: str
    item_title: str
    price_centipoints: int
    state: str
    has_voucher: bool
    create_time: datetime | None
    voucher_expire_time: datetime | None
    consume_time: datetime | None
    end_reason: str


class CourseProgress(BaseModel):
    """A course and how far the resident is in it."""

    course: str
    title: str
    tier: str
    hours: int
    attended_seconds: int
    required_seconds: int
    completed: bool


class Training(BaseModel):
    """Courses, credits and level."""

    level: str
    level_title: str
    credits: int
    core_volunteer: bool
    courses: list[CourseProgress]


class EligibilityCode(BaseModel):
    """A single-use code for a partner, and until when it works."""

    code: str
    expire_time: datetime | None


class EligibilityCheck(BaseModel):
    """A check a partner made with one of the resident's codes."""

    partner: str
    partner_display_name: str
    benefit: str
    qualifies: bool
    check_time: datetime | None


class FaceConsent(BaseModel):
    """A face consent, active or withdrawn."""

    consent: str
    purpose: str
    policy_version: str
    retention_days: int
    grant_time: datetime | None
    granted_by: str
    withdraw_time: datetime | None
    withdrawn_by: str
    active: bool


class Face(BaseModel):
    """The resident's face consents and the partners' checks of their codes."""

    consents: list[FaceConsent]
    active: bool


def yearly_change(transaction: pts.Transaction, resident_id: str) -> int:
    """How much a transaction moved the resident's yearly points."""
    account = f"/accounts/{resident_id}:yearly"
    return sum(p.amount_centipoints for p in transaction.postings if p.account.endswith(account))


def _appeal(appeal: pts.Appeal) -> Appeal:
    return Appeal(
        appeal=appeal.name,
        transaction=appeal.transaction,
        reason=appeal.reason,
        state=enum_name(pts.AppealState.Name(appeal.state), "APPEAL_STATE_"),
        decision_reason=appeal.decision_reason,
        compensation_centipoints=appeal.compensation_centipoints,
        create_time=when(appeal, "create_time"),
        decide_time=when(appeal, "decide_time"),
    )


def history(
    transactions: Iterable[pts.Transaction], appeals: Iterable[Appeal], resident_id: str
) -> list[Posting]:
    """Transactions newest first, each with its reason and the appeal against it, if any."""
    against = {a.transaction: a for a in appeals}
    found = []
    for t in transactions:
        appeal = against.get(t.name)
        change = yearly_change(t, resident_id)
        shown = postings.reason(t, change)
        found.append(
            Posting(
                transaction=t.name,
                time=when(t, "create_time"),
                kind=t.kind,
                rule_id=t.rule_id,
                rule_kind=t.rule_kind,
                reason=t.reason,
                title=shown.title,
                detail=shown.detail,
                change_centipoints=change,
                appealable=t.kind in EARNING_KINDS and (appeal is None or appeal.state != "filed"),
                appeal=appeal.appeal if appeal else "",
                appeal_state=appeal.state if appeal else "",
            )
        )
    return found


async def profile(svc: Services, person: Person) -> Profile:
    """The resident as identity knows them."""
    reply = await svc.identity.GetResident(
        idn.GetResidentRequest(name=person.resident), metadata=person.metadata, timeout=svc.timeout
    )
    r = reply.resident
    return Profile(
        resident=r.name, display_name=r.display_name, org_unit=r.org_unit, roles=list(r.roles)
    )


async def balances(svc: Services, person: Person) -> Balances:
    """Yearly, lifetime and reserved points and the honour tier."""
    request = pts.GetBalanceRequest(name=f"{person.resident}/balance")
    b = (
        await svc.points.GetBalance(request, metadata=person.metadata, timeout=svc.timeout)
    ).balance
    return Balances(
        yearly_centipoints=b.yearly_centipoints,
        lifetime_centipoints=b.lifetime_centipoints,
        reserved_centipoints=b.reserved_centipoints,
        honour_tier=b.honour_tier,
    )


async def appeals(svc: Services, person: Person) -> list[Appeal]:
    """The resident's appeals, oldest first (up to APPEALS_SHOWN)."""
    found = await every_page(
        svc.points.ListAppeals,
        pts.ListAppealsRequest(parent=person.resident),
        "appeals",
        APPEALS_SHOWN,
        metadata=person.metadata,
        timeout=svc.timeout,
    )
    return [_appeal(a) for a in found]


async def overview(svc: Services, person: Person, year: int) -> Overview:
    """Everything the resident's own page shows, asked at once."""
    listing = pts.ListTransactionsRequest(parent=person.resident, page_size=HISTORY_SIZE)
    who, money, filed, listed = await asyncio.gather(
        profile(svc, person),
        balances(svc, person),
        appeals(svc, person),
        svc.points.ListTransactions(listing, metadata=person.metadata, timeout=svc.timeout),
    )
    rows = history(listed.transactions, filed, person.resident_id)
    earned = [(p.time, p.change_centipoints) for p in rows if p.kind in EARNING_KINDS and p.time]
    return Overview(
        profile=who,
        balances=money,
        year=year,
        monthly_centipoints=monthly_earnings(earned, year),
        history=rows,
    )


async def file_appeal(
    svc: Services, person: Person, transaction: str, reason: str, request_id: str
) -> Appeal:
    """File an appeal against one of the resident's transactions."""
    request = pts.CreateAppealRequest(
        parent=person.resident, transaction=transaction, reason=reason, request_id=request_id
    )
    return _appeal(
        (
            await svc.points.CreateAppeal(request, metadata=person.metadata, timeout=svc.timeout)
        ).appeal
    )


async def appeal(svc: Services, person: Person, appeal_id: str) -> Appeal:
    """One appeal of the resident's (the service refuses another's)."""
    request = pts.GetAppealRequest(name=f"communities/{person.community}/appeals/{appeal_id}")
    return _appeal(
        (await svc.points.GetAppeal(request, metadata=person.metadata, timeout=svc.timeout)).appeal
    )


def _item(item: rwd.Item) -> Item:
    return Item(
        item=item.name,
        title=item.title,
        description=item.description,
        kind=enum_name(rwd.ItemKind.Name(item.kind), "ITEM_KIND_"),
        price_centipoints=item.price_centipoints,
        stock=item.stock,
        partner=item.partner,
    )


def _redemption(r: rwd.Redemption) -> Redemption:
    return Redemption(
        redemption=r.name,
        item=r.item,
        item_title=r.item_title,
        price_centipoints=r.price_centipoints,
        state=enum_name(rwd.RedemptionState.Name(r.state), "REDEMPTION_STATE_"),
        has_voucher=bool(r.voucher),
        create_time=when(r, "create_time"),
        voucher_expire_time=when(r, "voucher_expire_time"),
        consume_time=when(r, "consume_time"),
        end_reason=r.end_reason,
    )


async def catalogue(svc: Services, person: Person) -> list[Item]:
    """The items on sale in the resident's community."""
    request = rwd.ListItemsRequest(parent=f"communities/{person.community}", page_size=100)
    reply = await svc.rewards.ListItems(request, metadata=person.metadata, timeout=svc.timeout)
    return [_item(i) for i in reply.items if not i.retired]


async def redemptions(svc: Services, person: Person) -> list[Redemption]:
    """The resident's redemptions, newest first."""
    request = rwd.ListRedemptionsRequest(parent=person.resident, page_size=50)
    reply = await svc.rewards.ListRedemptions(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return [_redemption(r) for r in reply.redemptions]


async def redeem(svc: Services, person: Person, item: str, request_id: str) -> Redemption:
    """Spend points on an item (rewards runs the saga; the answer is where it ended)."""
    request = rwd.RedeemRequest(parent=person.resident, item=item, request_id=request_id)
    return _redemption(
        (
            await svc.rewards.Redeem(request, metadata=person.metadata, timeout=svc.timeout)
        ).redemption
    )


def redemption_name(person: Person, redemption_id: str) -> str:
    """The resource name of a redemption in the person's community."""
    return f"communities/{person.community}/redemptions/{redemption_id}"


async def redemption(svc: Services, person: Person, redemption_id: str) -> Redemption:
    """One redemption of the resident's (the service refuses another's)."""
    request = rwd.GetRedemptionRequest(name=redemption_name(person, redemption_id))
    return _redemption(
        (
            await svc.rewards.GetRedemption(request, metadata=person.metadata, timeout=svc.timeout)
        ).redemption
    )


async def voucher_svg(svc: Services, person: Person, redemption_id: str) -> bytes:
    """The voucher's QR code as rewards renders it (SVG)."""
    request = rwd.RenderVoucherRequest(
        name=redemption_name(person, redemption_id), format=rwd.IMAGE_FORMAT_SVG
    )
    return bytes(
        (
            await svc.rewards.RenderVoucher(request, metadata=person.metadata, timeout=svc.timeout)
        ).image
    )


async def training(svc: Services, person: Person) -> Training:
    """The community's courses with the resident's progress, credits and level."""
    courses_request = trn.ListCoursesRequest(
        parent=f"communities/{person.community}", page_size=100
    )
    progress_request = trn.GetProgressRequest(name=f"{person.resident}/trainingProgress")
    courses, progress = await asyncio.gather(
        svc.training.ListCourses(courses_request, metadata=person.metadata, timeout=svc.timeout),
        svc.training.GetProgress(progress_request, metadata=person.metadata, timeout=svc.timeout),
    )
    mine = {c.course: c for c in progress.progress.courses}
    rows = []
    for course in courses.courses:
        done = mine.get(course.name)
        rows.append(
            CourseProgress(
                course=course.name,
                title=course.title,
                tier=enum_name(trn.Tier.Name(course.tier), "TIER_"),
                hours=course.hours,
                attended_seconds=done.attended_seconds if done else 0,
                required_seconds=done.required_seconds if done else 0,
                completed=bool(done and done.completed),
            )
        )
    p = progress.progress
    return Training(
        level=p.level,
        level_title=p.level_title,
        credits=p.credits,
        core_volunteer=p.core_volunteer,
        courses=rows,
    )


async def eligibility_code(svc: Services, person: Person, request_id: str) -> EligibilityCode:
    """A new single-use code to show a partner."""
    request = prt.CreateEligibilityCodeRequest(parent=person.resident, request_id=request_id)
    reply = await svc.partners.CreateEligibilityCode(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return EligibilityCode(code=reply.code, expire_time=when(reply, "expire_time"))


async def eligibility_checks(svc: Services, person: Person) -> list[EligibilityCheck]:
    """What partners checked with the resident's codes, newest first."""
    request = prt.ListEligibilityChecksRequest(parent=person.resident, page_size=50)
    reply = await svc.partners.ListEligibilityChecks(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return [
        EligibilityCheck(
            partner=c.partner,
            partner_display_name=c.partner_display_name,
            benefit=last(c.benefit),
            qualifies=c.qualifies,
            check_time=when(c, "check_time"),
        )
        for c in reply.checks
    ]


def _consent(c: idn.FaceConsent) -> FaceConsent:
    return FaceConsent(
        consent=c.name,
        purpose=c.purpose,
        policy_version=c.policy_version,
        retention_days=c.retention_days,
        grant_time=when(c, "grant_time"),
        granted_by=c.granted_by,
        withdraw_time=when(c, "withdraw_time"),
        withdrawn_by=c.withdrawn_by,
        active=not c.HasField("withdraw_time"),
    )


async def face(svc: Services, person: Person) -> Face:
    """The resident's face consents, newest first (up to CONSENTS_SHOWN: the active one, if
    any, is the newest)."""
    found = await every_page(
        svc.identity.ListFaceConsents,
        idn.ListFaceConsentsRequest(parent=person.resident),
        "consents",
        CONSENTS_SHOWN,
        metadata=person.metadata,
        timeout=svc.timeout,
    )
    consents = [_consent(c) for c in found]
    return Face(consents=consents, active=any(c.active for c in consents))


async def give_face_consent(
    svc: Services, person: Person, policy_version: str, retention_days: int, request_id: str
) -> None:
    """Record the resident's own consent to face sign-in."""
    request = idn.GrantFaceConsentRequest(
        parent=person.resident,
        policy_version=policy_version,
        retention_days=retention_days,
        request_id=request_id,
    )
    await svc.identity.GrantFaceConsent(request, metadata=person.metadata, timeout=svc.timeout)


async def withdraw_face_consent(svc: Services, person: Person, request_id: str) -> None:
    """Withdraw the consent: identity deletes the face templates at once."""
    request = idn.WithdrawFaceConsentRequest(parent=person.resident, request_id=request_id)
    await svc.identity.WithdrawFaceConsent(request, metadata=person.metadata, timeout=svc.timeout)


def new_request_id() -> str:
    """A request id for a form, made when it is shown (a resubmission replays, not repeats)."""
    return str(uuid.uuid4())
