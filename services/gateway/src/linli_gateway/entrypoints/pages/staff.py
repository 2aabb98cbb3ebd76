"""The staff console: activities and rosters, the review queue, paper sign-in sheets,
corrections, residents' CSV exchange, catalogue, training, partners, the served hours dashboard
and the ratings overview.

Every call carries the staff member's own token; the services refuse what their roles do not
allow (403 page). Navigation shows only what the roles let a person see.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from linli_gateway.entrypoints.rendering import render
from linli_gateway.entrypoints.sessions import Person, SignedIn, Svc
from linli_gateway.entrypoints.views import staff as views
from linli_gateway.entrypoints.views.common import checked_id, last
from linli_gateway.entrypoints.views.resident import new_request_id

router = APIRouter(prefix="/staff", dependencies=[Depends(views.staff_only)])
RequestId = Annotated[str, Form(min_length=1, max_length=200)]
Text = Annotated[str, Form(min_length=1, max_length=500)]
MAX_CSV_BYTES = 4 * 1024 * 1024  # identity's ImportResidents limit


def _page(
    request: Request, person: Person, name: str, section: str, **context: object
) -> HTMLResponse:
    base = {"section": section, "request_id": new_request_id(), "person": person}
    return render(request, f"staff/{name}.html", {**base, **context})


def _time(value: str, field: str) -> datetime:
    try:
        return views.local_input(value)
    except ValueError:
        raise HTTPException(400, f"{field}: not a date and time") from None


def _activity_name(person: Person, activity_id: str) -> str:
    return f"communities/{person.community}/activities/{checked_id(activity_id, 'activity')}"


def _resident_name(person: Person, value: str) -> str:
    """A resident's name from a form: a full resource name of the community, or an id."""
    prefix = f"communities/{person.community}/residents/"
    return value if value.startswith(prefix) else prefix + checked_id(value.strip(), "resident")


@router.get("", response_class=HTMLResponse)
async def activities(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The community's activities, and the form to create one."""
    found = await views.activities(svc, person)
    return _page(
        request,
        person,
        "activities",
        "activities",
        activities=found,
        service_types=views.SERVICE_TYPES,
        kinds=views.ACTIVITY_KINDS,
        templates=views.CHECKLIST_TEMPLATES,
    )


@router.post("/activities")
async def create_activity(
    svc: Svc,
    person: SignedIn,
    title: Annotated[str, Form(min_length=1, max_length=100)],
    service_type: Annotated[str, Form(pattern="^(regular|professional|high_risk)$")],
    kind: Annotated[str, Form(pattern="^(routine|periodic|emergency)$")],
    start_time: Annotated[str, Form(max_length=40)],
    end_time: Annotated[str, Form(max_length=40)],
    request_id: RequestId,
    place: Annotated[str, Form(max_length=200)] = "",
    capacity: Annotated[int, Form(ge=0, le=100000)] = 0,
    occurrence_count: Annotated[int, Form(ge=0, le=104)] = 0,
    checklist_template: Annotated[str, Form(pattern="^(|cleaning|elder_care)$")] = "",
) -> Response:
    """Create an activity; its page is shown next."""
    new = views.NewActivity(
        title=title.strip(),
        service_type=service_type,
        kind=kind,
        start_time=_time(start_time, "start_time"),
        end_time=_time(end_time, "end_time"),
        place=place.strip(),
        capacity=capacity,
        occurrence_count=occurrence_count,
        checklist_template=checklist_template,
    )
    made = await views.create_activity(svc, person, new, request_id)
    return RedirectResponse(f"/staff/activities/{last(made.activity)}", status_code=303)


@router.get("/activities/{activity_id}", response_class=HTMLResponse)
async def activity(
    request: Request, svc: Svc, person: SignedIn, activity_id: str, occurrence: int = 0
) -> HTMLResponse:
    """An activity, its occurrences and the roster of one of them."""
    found = await views.activity(svc, person, _activity_name(person, activity_id))
    index = occurrence if 0 <= occurrence < len(found.occurrences) else 0
    start = found.occurrences[index].start_time if found.occurrences else None
    entries, people = await asyncio.gather(
        views.roster(svc, person, found.activity, start), views.residents(svc, person)
    )
    return _page(
        request,
        person,
        "activity",
        "activities",
        activity=found,
        occurrence=index,
        roster=entries,
        residents=people,
        names={r.resident: r.display_name for r in people},
        open_for_roster=found.close_time is None
        and bool(found.occurrences)
        and (found.occurrences[index].end_time or datetime.now(UTC)) > datetime.now(UTC),
    )


@router.post("/activities/{activity_id}/close")
async def close_activity(
    svc: Svc, person: SignedIn, activity_id: str, request_id: RequestId
) -> Response:
    """Close the activity to new sign-ins."""
    await views.close_activity(svc, person, _activity_name(person, activity_id), request_id)
    return RedirectResponse(f"/staff/activities/{activity_id}", status_code=303)


@router.post("/activities/{activity_id}/roster")
async def add_roster_entry(
    svc: Svc,
    person: SignedIn,
    activity_id: str,
    resident: Annotated[str, Form(min_length=1, max_length=300)],
    role: Annotated[str, Form(pattern="^(volunteer|staff)$")],
    request_id: RequestId,
    occurrence: Annotated[int, Form(ge=0, le=104)] = 0,
) -> Response:
    """Put a resident on the roster of one occurrence."""
    name = _activity_name(person, activity_id)
    found = await views.activity(svc, person, name)
    start = (
        found.occurrences[occurrence].start_time if occurrence < len(found.occurrences) else None
    )
    who = _resident_name(person, resident)
    await views.add_roster_entry(svc, person, name, start, who, role, request_id)
    return RedirectResponse(
        f"/staff/activities/{activity_id}?occurrence={occurrence}", status_code=303
    )


@router.get("/review", response_class=HTMLResponse)
async def review(
    request: Request, svc: Svc, person: SignedIn, everything: bool = False
) -> HTMLResponse:
    """Flags waiting for staff: forgotten sign-outs, uncertain faces, refused attempts."""
    found, people = await asyncio.gather(
        views.flags(svc, person, open_only=not everything), views.residents(svc, person)
    )
    names = {r.resident: r.display_name for r in people}
    return _page(
        request,
        person,
        "review",
        "review",
        flags=found,
        names=names,
        everything=everything,
        flag_kinds=views.FLAG_KINDS,
    )


@router.post("/flags/{flag_id}/resolve")
async def resolve_flag(svc: Svc, person: SignedIn, flag_id: str, request_id: RequestId) -> Response:
    """Mark a flag as dealt with."""
    name = f"communities/{person.community}/flags/{checked_id(flag_id, 'flag')}"
    await views.resolve_flag(svc, person, name, request_id)
    return RedirectResponse("/staff/review", status_code=303)


def _session_name(person: Person, activity_id: str, session_id: str) -> str:
    return f"{_activity_name(person, activity_id)}/sessions/{checked_id(session_id, 'session')}"


@router.get("/sessions/{activity_id}/{session_id}", response_class=HTMLResponse)
async def session(
    request: Request, svc: Svc, person: SignedIn, activity_id: str, session_id: str
) -> HTMLResponse:
    """A session: how it was recorded, its corrections; confirm, correct, record its checklist
    and the residents it served."""
    found, where, people = await asyncio.gather(
        views.session(svc, person, _session_name(person, activity_id, session_id)),
        views.activity(svc, person, _activity_name(person, activity_id)),
        views.residents(svc, person),
    )
    names = {r.resident: r.display_name for r in people}
    return _page(
        request,
        person,
        "session",
        "review",
        session=found,
        activity=where,
        residents=[r for r in people if r.resident != found.resident],
        names=names,
    )


@router.post("/sessions/{activity_id}/{session_id}/checklist")
async def record_checklist(
    svc: Svc,
    person: SignedIn,
    activity_id: str,
    session_id: str,
    request_id: RequestId,
    steps: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    """Record the operating-checklist steps the session completed."""
    name = _session_name(person, activity_id, session_id)
    await views.record_checklist(svc, person, name, steps or [], request_id)
    return RedirectResponse(f"/staff/sessions/{activity_id}/{session_id}", status_code=303)


@router.post("/sessions/{activity_id}/{session_id}/served")
async def record_served(
    svc: Svc,
    person: SignedIn,
    activity_id: str,
    session_id: str,
    resident: Annotated[str, Form(min_length=1, max_length=300)],
    request_id: RequestId,
) -> Response:
    """Record a resident the session served (who may then rate it)."""
    name = _session_name(person, activity_id, session_id)
    await views.record_served(svc, person, name, [_resident_name(person, resident)], request_id)
    return RedirectResponse(f"/staff/sessions/{activity_id}/{session_id}", status_code=303)


@router.post("/sessions/{activity_id}/{session_id}/confirm")
async def confirm_session(
    svc: Svc, person: SignedIn, activity_id: str, session_id: str, request_id: RequestId
) -> Response:
    """Confirm a session held for review; it then earns its points."""
    name = _session_name(person, activity_id, session_id)
    await views.confirm_session(svc, person, name, request_id)
    return RedirectResponse(f"/staff/sessions/{activity_id}/{session_id}", status_code=303)


@router.post("/sessions/{activity_id}/{session_id}/correct")
async def correct_session(
    svc: Svc,
    person: SignedIn,
    activity_id: str,
    session_id: str,
    minutes: Annotated[int, Form(ge=0, le=35_000_000)],
    reason: Text,
    request_id: RequestId,
) -> Response:
    """Correct the session's counted time; points follow with a reversal and a new award."""
    name = _session_name(person, activity_id, session_id)
    await views.correct_session(svc, person, name, minutes * 60, reason.strip(), request_id)
    return RedirectResponse(f"/staff/sessions/{activity_id}/{session_id}", status_code=303)


@router.get("/paper", response_class=HTMLResponse)
async def paper_form(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """The form to enter a paper sign-in sheet's line."""
    found, people = await asyncio.gather(
        views.activities(svc, person), views.residents(svc, person)
    )
    open_ones = [a for a in found if a.close_time is None]
    return _page(request, person, "paper", "paper", activities=open_ones, residents=people)


@router.post("/paper")
async def enter_paper_session(
    svc: Svc,
    person: SignedIn,
    activity: Annotated[str, Form(min_length=1, max_length=300)],
    resident: Annotated[str, Form(min_length=1, max_length=300)],
    sign_in_time: Annotated[str, Form(max_length=40)],
    sign_out_time: Annotated[str, Form(max_length=40)],
    reason: Text,
    request_id: RequestId,
) -> Response:
    """Enter the sheet's session; attendance applies every rule and points pay it."""
    entered = await views.enter_paper_session(
        svc,
        person,
        _activity_name(person, last(activity)),
        _resident_name(person, resident),
        _time(sign_in_time, "sign_in_time"),
        _time(sign_out_time, "sign_out_time"),
        reason.strip(),
        request_id,
    )
    activity_id, session_id = last(entered.activity), last(entered.session)
    return RedirectResponse(f"/staff/sessions/{activity_id}/{session_id}", status_code=303)


@router.get("/residents", response_class=HTMLResponse)
async def residents(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Import residents from the government system's CSV; export them for it."""
    return _page(request, person, "residents", "residents", result=None, next_request_id="")


@router.post("/residents/import", response_class=HTMLResponse)
async def import_residents(
    request: Request, svc: Svc, person: SignedIn, file: UploadFile, request_id: RequestId
) -> HTMLResponse:
    """Import the file: every row or none, with the line and reason of each bad row."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise HTTPException(413, "the file is over 4 MiB")
    htmx = request.headers.get("hx-request") == "true"
    try:
        result = await views.import_residents(svc, person, data, request_id)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        # The file as a whole is unusable (not UTF-8, no phone column, too many rows): said
        # beside the form; an htmx answer is 200 so that it is swapped in.
        refused = views.ImportResult(imported=0, errors=[], refusal=exc.details() or "")
        context = {"result": refused, "next_request_id": new_request_id()}
        return render(request, "staff/import_result.html", context, 200 if htmx else 400)
    if htmx:
        context = {"result": result, "next_request_id": new_request_id()}
        return render(request, "staff/import_result.html", context)
    return _page(request, person, "residents", "residents", result=result, next_request_id="")


@router.get("/residents/export.csv")
async def export_residents(svc: Svc, person: SignedIn) -> Response:
    """The community's residents as CSV for the government system (a download)."""
    data = await views.export_residents(svc, person)
    day = datetime.now(UTC).strftime("%Y%m%d")
    filename = f"residents-{person.community}-{day}.csv"
    return StreamingResponse(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/catalogue", response_class=HTMLResponse)
async def catalogue(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Every item of the catalogue, with stock; add an item or restock one."""
    found = await views.items(svc, person)
    return _page(request, person, "catalogue", "catalogue", items=found)


@router.post("/catalogue")
async def create_item(
    svc: Svc,
    person: SignedIn,
    item_id: Annotated[str, Form(pattern="^[a-z0-9][a-z0-9-]{1,39}$")],
    title: Annotated[str, Form(min_length=1, max_length=100)],
    kind: Annotated[str, Form(pattern="^(voucher|facility_time|discount|course_place)$")],
    price: Annotated[float, Form(gt=0, le=1_000_000)],
    stock: Annotated[int, Form(ge=0, le=1_000_000)],
    request_id: RequestId,
) -> Response:
    """Add an item (its price in points)."""
    new = views.NewItem(item_id, title.strip(), kind, round(price * 100), stock)
    await views.create_item(svc, person, new, request_id)
    return RedirectResponse("/staff/catalogue", status_code=303)


@router.post("/catalogue/{item_id}/restock")
async def restock_item(
    svc: Svc,
    person: SignedIn,
    item_id: str,
    add_stock: Annotated[int, Form(ge=1, le=1_000_000)],
    request_id: RequestId,
) -> Response:
    """Add stock to an item."""
    name = f"communities/{person.community}/items/{checked_id(item_id, 'item')}"
    await views.restock_item(svc, person, name, add_stock, request_id)
    return RedirectResponse("/staff/catalogue", status_code=303)


@router.get("/training", response_class=HTMLResponse)
async def training(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Courses and the teacher pool; add either."""
    courses, teachers = await views.courses_and_teachers(svc, person)
    return _page(request, person, "training", "training", courses=courses, teachers=teachers)


@router.post("/training/courses")
async def create_course(
    svc: Svc,
    person: SignedIn,
    course_id: Annotated[str, Form(pattern="^[a-z0-9][a-z0-9-]{1,39}$")],
    title: Annotated[str, Form(min_length=1, max_length=100)],
    tier: Annotated[str, Form(pattern="^(beginner|intermediate|advanced)$")],
    hours: Annotated[int, Form(ge=1, le=200)],
    request_id: RequestId,
) -> Response:
    """Add a course."""
    await views.create_course(svc, person, course_id, title.strip(), tier, hours, request_id)
    return RedirectResponse("/staff/training", status_code=303)


@router.post("/training/teachers")
async def create_teacher(
    svc: Svc,
    person: SignedIn,
    display_name: Annotated[str, Form(min_length=1, max_length=100)],
    kind: Annotated[
        str, Form(pattern="^(university_social_work|red_cross_trainer|counsellor|other)$")
    ],
    request_id: RequestId,
    organisation: Annotated[str, Form(max_length=200)] = "",
    courses: Annotated[list[str] | None, Form(max_length=50)] = None,
) -> Response:
    """Add a teacher with the courses they may teach."""
    await views.create_teacher(
        svc, person, display_name.strip(), kind, organisation.strip(), courses or [], request_id
    )
    return RedirectResponse("/staff/training", status_code=303)


@router.get("/partners", response_class=HTMLResponse)
async def partners(request: Request, svc: Svc, person: SignedIn) -> HTMLResponse:
    """Partner enterprises and their agreements; register one or record an agreement."""
    found = await views.partners(svc, person)
    return _page(request, person, "partners", "partners", partners=found)


@router.post("/partners")
async def create_partner(
    svc: Svc,
    person: SignedIn,
    partner_id: Annotated[str, Form(pattern="^[a-z0-9][a-z0-9-]{0,39}$")],
    display_name: Annotated[str, Form(min_length=1, max_length=100)],
    kind: Annotated[str, Form(pattern="^(supermarket|bank|clinic|other)$")],
    request_id: RequestId,
) -> Response:
    """Register a partner enterprise."""
    await views.create_partner(svc, person, partner_id, display_name.strip(), kind, request_id)
    return RedirectResponse("/staff/partners", status_code=303)


Day = Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")]


@router.post("/partners/{partner_id}/agreements")
async def create_agreement(
    svc: Svc,
    person: SignedIn,
    partner_id: str,
    title: Annotated[str, Form(min_length=1, max_length=100)],
    terms: Annotated[str, Form(min_length=1, max_length=4000)],
    sign_date: Day,
    start_date: Day,
    end_date: Day,
    request_id: RequestId,
) -> Response:
    """Record a signed agreement."""
    partner = f"communities/{person.community}/partners/{checked_id(partner_id, 'partner')}"
    new = views.NewAgreement(title.strip(), terms.strip(), sign_date, start_date, end_date)
    await views.create_agreement(svc, person, partner, new, request_id)
    return RedirectResponse("/staff/partners", status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, svc: Svc, person: SignedIn, year: int = 0) -> HTMLResponse:
    """Hours served by service type per month, as a server-rendered chart, and those held."""
    found = await views.served_hours(svc, person, year if 2000 <= year <= 2199 else 0)
    chart = views.grouped_chart(found.hours)
    return _page(request, person, "dashboard", "dashboard", hours=found, chart=chart)


@router.get("/ratings", response_class=HTMLResponse)
async def ratings(
    request: Request,
    svc: Svc,
    person: SignedIn,
    activity: Annotated[str, Query(max_length=100)] = "",
    year: int = 0,
    page_token: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """Residents' ratings of the year with their summary, of every activity or one."""
    name = _activity_name(person, activity) if activity else ""
    shown = year if 2000 <= year <= 2199 else 0
    found, listed, people = await asyncio.gather(
        views.ratings(svc, person, name, shown, page_token),
        views.activities(svc, person),
        views.residents(svc, person),
    )
    return _page(
        request,
        person,
        "ratings",
        "ratings",
        ratings=found,
        activities=listed,
        chosen=name,
        names={r.resident: r.display_name for r in people},
    )
