"""The committee's pages: the appeals queue and decisions, the supervision council (seats,
meetings, attendance, votes, decisions, audit adoptions), the quarterly audit and the public
record. Points decides every call; a refusal is a 403 page.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from linli_gateway.entrypoints.rendering import render
from linli_gateway.entrypoints.sessions import Person, SignedIn, Svc
from linli_gateway.entrypoints.views import committee as views
from linli_gateway.entrypoints.views.common import checked_id, last
from linli_gateway.entrypoints.views.resident import new_request_id
from linli_gateway.entrypoints.views.staff import local_input
from linli_gateway.service_layer.charts import POLICY_ZONE, policy_year

router = APIRouter(prefix="/committee")
RequestId = Annotated[str, Form(min_length=1, max_length=200)]
Reason = Annotated[str, Form(min_length=1, max_length=1000)]
Points = Annotated[float, Form(ge=0, le=1_000_000)]


def _page(
    request: Request, person: Person, name: str, section: str, **context: object
) -> HTMLResponse:
    base = {"section": section, "request_id": new_request_id(), "person": person}
    return render(request, f"committee/{name}.html", {**base, **context})


def _appeal_name(person: Person, appeal_id: str) -> str:
    return f"communities/{person.community}/appeals/{checked_id(appeal_id, 'appeal')}"


def _meeting_name(person: Person, meeting_id: str) -> str:
    return f"communities/{person.community}/councilMeetings/{checked_id(meeting_id, 'meeting')}"


def _in_community(person: Person, name: str, kind: str) -> str:
    if not name.startswith(f"communities/{person.community}/{kind}/"):
        raise HTTPException(400, f"not a {kind} name of this community")
    checked_id(last(name), kind)
    return name


def last_quarter(at: datetime) -> tuple[int, int]:
    """The year and quarter (Asia/Shanghai) before the one an instant is in."""
    local = at.astimezone(POLICY_ZONE)
    quarter = (local.month - 1) // 3 + 1
    return (local.year, quarter - 1) if quarter > 1 else (local.year - 1, 4)


@router.get("", response_class=HTMLResponse)
async def queue(
    request: Request,
    svc: Svc,
    person: SignedIn,
    page_token: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """The appeals waiting for a decision, then a page of those decided."""
    waiting, decided = await asyncio.gather(
        views.waiting_appeals(svc, person), views.decided_appeals(svc, person, page_token)
    )
    return _page(
        request,
        person,
        "queue",
        "appeals",
        waiting=waiting,
        waiting_shown=views.WAITING_SHOWN,
        decided=decided,
    )


@router.get("/appeals/{appeal_id}", response_class=HTMLResponse)
async def appeal(request: Request, svc: Svc, person: SignedIn, appeal_id: str) -> HTMLResponse:
    """An appeal, the meetings that have it on their agenda, and a single member's decision."""
    found = await views.appeal(svc, person, _appeal_name(person, appeal_id))
    at_meetings = [m for m in await views.meetings(svc, person) if found.appeal in m.agenda_appeals]
    return _page(request, person, "appeal", "appeals", appeal=found, meetings=at_meetings)


@router.post("/appeals/{appeal_id}/decision")
async def decide(
    svc: Svc,
    person: SignedIn,
    appeal_id: str,
    outcome: Annotated[str, Form(pattern="^(accept|reject)$")],
    reason: Reason,
    request_id: RequestId,
    compensation: Points = 0,
) -> Response:
    """One member decides (points refuses where the community decides at meetings only)."""
    name = _appeal_name(person, appeal_id)
    accept = outcome == "accept"
    amount = round(compensation * 100) if accept else 0
    await views.decide_appeal(svc, person, name, accept, reason.strip(), amount, request_id)
    return RedirectResponse(f"/committee/appeals/{appeal_id}", status_code=303)


@router.get("/council", response_class=HTMLResponse)
async def council(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The council's seats, its meetings, and (for the secretariat) the forms to add either."""
    seated = await views.members(svc, person)
    if person.has("social_worker", "committee_member") or any(
        m.resident == person.resident for m in seated
    ):
        found, filed = await asyncio.gather(
            views.meetings(svc, person), views.waiting_appeals(svc, person)
        )
    else:
        found, filed = [], []
    year, quarter = last_quarter(datetime.now(UTC))
    return _page(
        request,
        person,
        "council",
        "council",
        members=seated,
        meetings=found,
        filed=filed,
        seats=views.SEATS,
        last_year=year,
        last_quarter=quarter,
    )


@router.post("/council/members")
async def seat_member(
    svc: Svc,
    person: SignedIn,
    resident: Annotated[str, Form(min_length=1, max_length=300)],
    seat: Annotated[
        str, Form(pattern="^(residents_committee|resident_representative|third_party)$")
    ],
    term_start_date: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
    term_end_date: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
    request_id: RequestId,
    organisation: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Seat a resident on the council (social workers)."""
    prefix = f"communities/{person.community}/residents/"
    who = resident if resident.startswith(prefix) else prefix + checked_id(resident, "resident")
    term = (term_start_date, term_end_date)
    await views.seat_member(svc, person, who, seat, organisation.strip(), term, request_id)
    return RedirectResponse("/committee/council", status_code=303)


@router.post("/council/meetings")
async def schedule_meeting(
    svc: Svc,
    person: SignedIn,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    schedule_time: Annotated[str, Form(max_length=40)],
    request_id: RequestId,
    appeals: Annotated[list[str] | None, Form(max_length=50)] = None,
    audit: Annotated[str, Form(pattern=r"^(|\d{4}-Q[1-4])$")] = "",
) -> Response:
    """Schedule a meeting with its agenda (social workers)."""
    try:
        at = local_input(schedule_time)
    except ValueError:
        raise HTTPException(400, "schedule_time: not a date and time") from None
    names = [_in_community(person, a, "appeals") for a in appeals or []]
    audits = [(int(audit[:4]), int(audit[-1]))] if audit else []
    made = await views.schedule_meeting(svc, person, title.strip(), at, names, audits, request_id)
    return RedirectResponse(f"/committee/meetings/{last(made.meeting)}", status_code=303)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
async def meeting(request: Request, svc: Svc, person: SignedIn, meeting_id: str) -> HTMLResponse:
    """A meeting: agenda, who attended, quorum, votes and decisions, audits, minutes."""
    found, seated = await asyncio.gather(
        views.meeting(svc, person, _meeting_name(person, meeting_id)), views.members(svc, person)
    )
    decided = {d.appeal for d in found.decisions}
    adopted = {(a.year, a.quarter) for a in found.audits}
    return _page(
        request,
        person,
        "meeting",
        "council",
        meeting=found,
        members=[m for m in seated if not m.ended],
        present=person.resident in found.attendees,
        open_appeals=[a for a in found.agenda_appeals if a not in decided],
        open_audits=[q for q in found.agenda_audits if q not in adopted],
        choices=views.CHOICES,
    )


@router.post("/meetings/{meeting_id}/attendance")
async def record_attendance(
    svc: Svc,
    person: SignedIn,
    meeting_id: str,
    request_id: RequestId,
    attendees: Annotated[list[str] | None, Form(max_length=100)] = None,
) -> Response:
    """Record who attended; the meeting is then held (social workers)."""
    names = [_in_community(person, a, "residents") for a in attendees or []]
    name = _meeting_name(person, meeting_id)
    await views.record_attendance(svc, person, name, names, request_id)
    return RedirectResponse(f"/committee/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/votes")
async def cast_vote(
    svc: Svc,
    person: SignedIn,
    meeting_id: str,
    appeal: Annotated[str, Form(min_length=1, max_length=300)],
    choice: Annotated[str, Form(pattern="^(uphold|reject|abstain)$")],
    request_id: RequestId,
    compensation: Points = 0,
) -> Response:
    """The caller's vote on an appeal of the agenda."""
    amount = round(compensation * 100) if choice == "uphold" else 0
    name = _meeting_name(person, meeting_id)
    target = _in_community(person, appeal, "appeals")
    await views.cast_vote(svc, person, name, target, choice, amount, request_id)
    return RedirectResponse(
        f"/committee/meetings/{meeting_id}?voted={last(target)}", status_code=303
    )


@router.post("/meetings/{meeting_id}/decisions")
async def decide_at_meeting(
    svc: Svc,
    person: SignedIn,
    meeting_id: str,
    appeal: Annotated[str, Form(min_length=1, max_length=300)],
    reason: Reason,
    request_id: RequestId,
) -> Response:
    """Record the council's decision from the votes."""
    name = _meeting_name(person, meeting_id)
    target = _in_community(person, appeal, "appeals")
    await views.decide_at_meeting(svc, person, name, target, reason.strip(), request_id)
    return RedirectResponse(f"/committee/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/audits")
async def adopt_audit(
    svc: Svc,
    person: SignedIn,
    meeting_id: str,
    year: Annotated[int, Form(ge=2, le=9998)],
    quarter: Annotated[int, Form(ge=1, le=4)],
    request_id: RequestId,
) -> Response:
    """Adopt a quarter's audit at the meeting."""
    await views.adopt_audit(
        svc, person, _meeting_name(person, meeting_id), year, quarter, request_id
    )
    return RedirectResponse(f"/committee/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/close")
async def close_meeting(
    svc: Svc,
    person: SignedIn,
    meeting_id: str,
    minutes: Annotated[str, Form(min_length=1, max_length=20000)],
    request_id: RequestId,
) -> Response:
    """Record the minutes and close the meeting (social workers)."""
    name = _meeting_name(person, meeting_id)
    await views.close_meeting(svc, person, name, minutes.strip(), request_id)
    return RedirectResponse(f"/committee/meetings/{meeting_id}", status_code=303)


def _quarter(year: int, quarter: int) -> tuple[int, int]:
    if year == 0 or quarter == 0:
        return last_quarter(datetime.now(UTC))
    if not (2 <= year <= 9998 and 1 <= quarter <= 4):
        raise HTTPException(400, "year or quarter out of range")
    return year, quarter


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request, svc: Svc, person: SignedIn, year: int = 0, quarter: int = 0, run: bool = False
) -> HTMLResponse:
    """Run a quarter's audit report and see its integrity result (last quarter by default)."""
    shown = _quarter(year, quarter)
    report = await views.audit(svc, person, *shown) if run else None
    return _page(request, person, "audit", "audit", year=shown[0], quarter=shown[1], audit=report)


@router.get("/audit.json")
async def audit_json(svc: Svc, person: SignedIn, year: int, quarter: int) -> Response:
    """The quarter's audit report as JSON (a download)."""
    found = await views.audit(svc, person, *_quarter(year, quarter))
    filename = f"audit-{person.community}-{found.year}-Q{found.quarter}.json"
    return Response(
        found.json_text,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/audit.csv")
async def audit_csv(svc: Svc, person: SignedIn, year: int, quarter: int) -> Response:
    """The quarter's audit report as CSV (a download)."""
    found = await views.audit(svc, person, *_quarter(year, quarter))
    filename = f"audit-{person.community}-{found.year}-Q{found.quarter}.csv"
    return Response(
        found.csv_text,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/record", response_class=HTMLResponse)
async def record(request: Request, svc: Svc, person: SignedIn, year: int = 0) -> HTMLResponse:
    """The council's public record of a year: counts only, no names."""
    shown = year if 2 <= year <= 9998 else policy_year(datetime.now(UTC))
    found = await views.public_record(svc, person, shown)
    return _page(request, person, "record", "record", year=shown, quarters=found)
