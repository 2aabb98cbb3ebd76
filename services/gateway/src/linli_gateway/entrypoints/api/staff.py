"""/api/v1/staff/…: the staff console's data and actions as JSON (what its pages show and do)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, Field

from linli_gateway.entrypoints.problems import problem_responses
from linli_gateway.entrypoints.sessions import Person, SignedIn, Svc
from linli_gateway.entrypoints.views import staff as views
from linli_gateway.entrypoints.views.common import checked_id

router = APIRouter(
    prefix="/staff",
    tags=["staff"],
    dependencies=[Depends(views.staff_only)],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504),
)
RequestId = Field(min_length=1, max_length=200, description="a retry with the same id replays")
Reason = Field(min_length=1, max_length=500)


class ActivityRequest(BaseModel):
    """A new activity."""

    title: str = Field(min_length=1, max_length=100)
    service_type: str = Field(pattern="^(regular|professional|high_risk)$")
    kind: str = Field(pattern="^(routine|periodic|emergency)$")
    start_time: AwareDatetime
    end_time: AwareDatetime
    place: str = Field("", max_length=200)
    capacity: int = Field(0, ge=0, le=100000)
    occurrence_count: int = Field(0, ge=0, le=104)
    checklist_template: str = Field("", pattern="^(|cleaning|elder_care)$")
    request_id: str = RequestId


class Mutation(BaseModel):
    """A request that changes something and needs only its id."""

    request_id: str = RequestId


class CorrectionRequest(BaseModel):
    """A session's corrected counted time and why."""

    duration_seconds: int = Field(ge=0, le=2_147_483_647)
    reason: str = Reason
    request_id: str = RequestId


class PaperSessionRequest(BaseModel):
    """One line of a paper sign-in sheet."""

    activity_id: str = Field(min_length=1, max_length=100)
    resident_id: str = Field(min_length=1, max_length=100)
    sign_in_time: AwareDatetime
    sign_out_time: AwareDatetime
    reason: str = Reason
    request_id: str = RequestId


class RosterRequest(BaseModel):
    """A resident to put on one occurrence's roster."""

    resident_id: str = Field(min_length=1, max_length=100)
    role: str = Field(pattern="^(volunteer|staff)$")
    occurrence_start_time: AwareDatetime | None = None
    request_id: str = RequestId


class ImportRequest(BaseModel):
    """A CSV file of residents from the government system."""

    csv: str = Field(min_length=1, max_length=4 * 1024 * 1024)
    request_id: str = RequestId


def _activity(person: Person, activity_id: str) -> str:
    return f"communities/{person.community}/activities/{checked_id(activity_id, 'activity')}"


def _resident(person: Person, resident_id: str) -> str:
    return f"communities/{person.community}/residents/{checked_id(resident_id, 'resident')}"


def _session(person: Person, activity_id: str, session_id: str) -> str:
    return f"{_activity(person, activity_id)}/sessions/{checked_id(session_id, 'session')}"


@router.get("/activities")
async def list_activities(svc: Svc, person: SignedIn) -> list[views.Activity]:
    """The community's activities by start time, with their check-in codes."""
    return await views.activities(svc, person)


@router.post("/activities", status_code=201)
async def create_activity(
    svc: Svc, person: SignedIn, body: Annotated[ActivityRequest, Body()]
) -> views.Activity:
    """Create an activity."""
    new = views.NewActivity(
        title=body.title,
        service_type=body.service_type,
        kind=body.kind,
        start_time=body.start_time,
        end_time=body.end_time,
        place=body.place,
        capacity=body.capacity,
        occurrence_count=body.occurrence_count,
        checklist_template=body.checklist_template,
    )
    return await views.create_activity(svc, person, new, body.request_id)


@router.get("/activities/{activity_id}")
async def get_activity(svc: Svc, person: SignedIn, activity_id: str) -> views.Activity:
    """One activity."""
    return await views.activity(svc, person, _activity(person, activity_id))


@router.post("/activities/{activity_id}/close")
async def close_activity(
    svc: Svc, person: SignedIn, activity_id: str, body: Annotated[Mutation, Body()]
) -> views.Activity:
    """Close an activity to new sign-ins."""
    return await views.close_activity(svc, person, _activity(person, activity_id), body.request_id)


@router.get("/activities/{activity_id}/roster")
async def list_roster(
    svc: Svc, person: SignedIn, activity_id: str, occurrence_start_time: datetime | None = None
) -> list[views.RosterEntry]:
    """Who is on one occurrence's roster (the first occurrence without a time)."""
    if occurrence_start_time is not None and occurrence_start_time.tzinfo is None:
        raise HTTPException(400, "occurrence_start_time needs a time zone")
    return await views.roster(svc, person, _activity(person, activity_id), occurrence_start_time)


@router.post("/activities/{activity_id}/roster", status_code=204)
async def add_roster_entry(
    svc: Svc, person: SignedIn, activity_id: str, body: Annotated[RosterRequest, Body()]
) -> None:
    """Put a resident on an occurrence's roster."""
    await views.add_roster_entry(
        svc,
        person,
        _activity(person, activity_id),
        body.occurrence_start_time,
        _resident(person, body.resident_id),
        body.role,
        body.request_id,
    )


@router.get("/flags")
async def list_flags(svc: Svc, person: SignedIn, open_only: bool = True) -> list[views.Flag]:
    """The review queue: flags newest first (open ones only by default)."""
    return await views.flags(svc, person, open_only)


@router.post("/flags/{flag_id}/resolve")
async def resolve_flag(
    svc: Svc, person: SignedIn, flag_id: str, body: Annotated[Mutation, Body()]
) -> views.Flag:
    """Mark a flag as dealt with."""
    name = f"communities/{person.community}/flags/{checked_id(flag_id, 'flag')}"
    return await views.resolve_flag(svc, person, name, body.request_id)


@router.get("/sessions/{activity_id}/{session_id}")
async def get_session(
    svc: Svc, person: SignedIn, activity_id: str, session_id: str
) -> views.Session:
    """A session with its records and corrections."""
    return await views.session(svc, person, _session(person, activity_id, session_id))


@router.post("/sessions/{activity_id}/{session_id}/confirm")
async def confirm_session(
    svc: Svc,
    person: SignedIn,
    activity_id: str,
    session_id: str,
    body: Annotated[Mutation, Body()],
) -> views.Session:
    """Confirm a session held for review."""
    name = _session(person, activity_id, session_id)
    return await views.confirm_session(svc, person, name, body.request_id)


@router.post("/sessions/{activity_id}/{session_id}/correct")
async def correct_session(
    svc: Svc,
    person: SignedIn,
    activity_id: str,
    session_id: str,
    body: Annotated[CorrectionRequest, Body()],
) -> views.Session:
    """Correct a closed session's counted time."""
    name = _session(person, activity_id, session_id)
    return await views.correct_session(
        svc, person, name, body.duration_seconds, body.reason, body.request_id
    )


@router.post("/paper-sessions", status_code=201)
async def enter_paper_session(
    svc: Svc, person: SignedIn, body: Annotated[PaperSessionRequest, Body()]
) -> views.Session:
    """Enter one line of a paper sign-in sheet."""
    return await views.enter_paper_session(
        svc,
        person,
        _activity(person, body.activity_id),
        _resident(person, body.resident_id),
        body.sign_in_time,
        body.sign_out_time,
        body.reason,
        body.request_id,
    )


@router.post("/residents/import")
async def import_residents(
    svc: Svc, person: SignedIn, body: Annotated[ImportRequest, Body()]
) -> views.ImportResult:
    """Import residents: all rows, or none and every bad row with its line."""
    return await views.import_residents(svc, person, body.csv.encode(), body.request_id)


@router.get(
    "/residents/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV"}},
)
async def export_residents(svc: Svc, person: SignedIn) -> Response:
    """The community's residents as CSV for the government system."""
    return StreamingResponse(await views.export_residents(svc, person), media_type="text/csv")


@router.get("/items")
async def list_items(svc: Svc, person: SignedIn) -> list[views.Item]:
    """Every item of the catalogue."""
    return await views.items(svc, person)


class Training(BaseModel):
    """The course catalogue and the teacher pool."""

    courses: list[views.Course]
    teachers: list[views.Teacher]


@router.get("/training")
async def get_training(svc: Svc, person: SignedIn) -> Training:
    """Courses and teachers."""
    courses, teachers = await views.courses_and_teachers(svc, person)
    return Training(courses=courses, teachers=teachers)


@router.get("/partners")
async def list_partners(svc: Svc, person: SignedIn) -> list[views.Partner]:
    """Partners with their agreements."""
    return await views.partners(svc, person)


@router.get("/dashboard/served-hours")
async def served_hours(
    svc: Svc, person: SignedIn, year: Annotated[int, Query(ge=0, le=2199)] = 0
) -> views.ServedHours:
    """Hours served by service type and month of a year (0: this year), and those held."""
    return await views.served_hours(svc, person, year)


@router.get("/ratings")
async def list_ratings(
    svc: Svc,
    person: SignedIn,
    activity_id: Annotated[str, Query(max_length=100)] = "",
    year: Annotated[int, Query(ge=0, le=2199)] = 0,
    page_token: Annotated[str, Query(max_length=100)] = "",
) -> views.Ratings:
    """A page of the year's ratings (of one activity, if named) and their summary."""
    name = ""
    if activity_id:
        name = f"communities/{person.community}/activities/{checked_id(activity_id, 'activity')}"
    return await views.ratings(svc, person, name, year, page_token)
