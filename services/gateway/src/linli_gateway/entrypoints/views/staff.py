"""What the staff console shows and does, each call with the staff member's own token.

The services decide who may do what (ARCHITECTURE §5); a refusal reaches the page as 403.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from fastapi import HTTPException
from google.protobuf.timestamp_pb2 import Timestamp
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.common.v1 import service_type_pb2 as stp
from linli.identity.v1 import identity_service_pb2 as idn
from linli.partners.v1 import partners_service_pb2 as prt
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.training.v1 import training_service_pb2 as trn
from pydantic import BaseModel

from linli_gateway.adapters.services import Services
from linli_gateway.entrypoints.i18n import N_
from linli_gateway.entrypoints.sessions import Person, SignedIn
from linli_gateway.entrypoints.views.common import enum_name, every_page, when
from linli_gateway.service_layer.charts import POLICY_ZONE, policy_year
from linli_kit.names import MAX_PAGE_SIZE

STAFF_ROLES = ("social_worker", "grid_head", "building_liaison")
SERVICE_TYPES = ("regular", "professional", "high_risk", "training")
ACTIVITY_KINDS = ("routine", "periodic", "emergency")
CHECKLIST_TEMPLATES = ("cleaning", "elder_care")
# What each flag asks of staff (translated where shown).
FLAG_KINDS = {
    "two_sites": N_("At two sites at once (refused)"),
    "too_many_sessions": N_("Too many sign-ins in a day (refused)"),
    "self_confirmation": N_("Staff confirming their own hours (refused)"),
    "forgotten_sign_out": N_("Forgotten sign-out: confirm or correct the session"),
    "time_cap": N_("The daily time cap cut the counted time"),
    "face_uncertain": N_("Uncertain face match: confirm who it was"),
    "face_reenrolment": N_("Face sign-ins keep needing confirmation: ask them to re-enrol"),
}
LIST_SIZE = 500  # one page of each list: the console shows at most this many
ROSTER_BOUND = 1000  # attendance keeps at most this many on an occurrence's roster
EXPORT_PAGE = MAX_PAGE_SIZE  # residents a page of identity's export


async def staff_only(person: SignedIn) -> None:
    """The console is shown to staff only (each service still decides every call)."""
    if not person.has(*STAFF_ROLES):
        raise HTTPException(403, "the staff console is for the community's staff")


def stamp(at: datetime) -> Timestamp:
    """A protobuf Timestamp of an aware datetime."""
    found = Timestamp()
    found.FromDatetime(at)
    return found


def local_input(value: str) -> datetime:
    """A datetime-local form value (Asia/Shanghai) as an aware datetime; ValueError if bad."""
    return datetime.fromisoformat(value).replace(tzinfo=POLICY_ZONE)


class Occurrence(BaseModel):
    """One run of an activity."""

    start_time: datetime | None
    end_time: datetime | None


class Activity(BaseModel):
    """An activity as staff see it (with its check-in code)."""

    activity: str
    title: str
    service_type: str
    kind: str
    place: str
    capacity: int
    checklist: list[str]
    check_in_code: str
    start_time: datetime | None
    end_time: datetime | None
    close_time: datetime | None
    occurrences: list[Occurrence]


class Flag(BaseModel):
    """A concern for staff to review."""

    flag: str
    kind: str
    reason: str
    resident: str
    activity: str
    session: str
    raise_time: datetime | None
    resolved_by: str
    resolve_time: datetime | None


class Correction(BaseModel):
    """One staff correction of a session's counted time."""

    previous_duration_seconds: int
    duration_seconds: int
    corrected_by: str
    reason: str
    correct_time: datetime | None


class Session(BaseModel):
    """A volunteer's presence at an activity, with how it was recorded."""

    session: str
    activity: str
    resident: str
    status: str
    method: str
    confirmed_by: str
    reviewed_by: str
    sign_in_time: datetime | None
    sign_out_time: datetime | None
    duration_seconds: int
    window_start: datetime | None
    window_end: datetime | None
    paper_sheet_reason: str
    face_similarity: float | None
    face_threshold: float | None
    corrections: list[Correction]
    checklist_done: list[str]
    served: list[str]


class Resident(BaseModel):
    """A resident as the console lists them."""

    resident: str
    display_name: str
    org_unit: str
    roles: list[str]


class RosterEntry(BaseModel):
    """Someone expected at one occurrence."""

    resident: str
    role: str
    added_by: str
    add_time: datetime | None


class RowError(BaseModel):
    """Why one line of an imported file was refused."""

    line: int
    message: str


class ImportResult(BaseModel):
    """An import: all rows registered, or none and every bad row."""

    imported: int
    errors: list[RowError]
    refusal: str = ""  # why the file as a whole was refused (no row was read)


class Item(BaseModel):
    """A catalogue item as staff see it."""

    item: str
    title: str
    kind: str
    price_centipoints: int
    stock: int
    partner: str
    retired: bool


class Course(BaseModel):
    """A course of the training catalogue."""

    course: str
    title: str
    tier: str
    hours: int
    credits: int


class Teacher(BaseModel):
    """A teacher of the pool and what they may teach."""

    teacher: str
    display_name: str
    kind: str
    organisation: str
    qualified_courses: list[str]


class Agreement(BaseModel):
    """A signed partnership agreement."""

    agreement: str
    title: str
    terms: str
    sign_date: str
    start_date: str
    end_date: str
    state: str


class Partner(BaseModel):
    """A partner enterprise and its agreements."""

    partner: str
    display_name: str
    kind: str
    revoked: bool
    agreements: list[Agreement]


class ServedHours(BaseModel):
    """Hours served of each service type in each month of a year (attendance's report)."""

    year: int
    hours: dict[str, list[float]]  # service type → twelve months of completed sessions
    sessions: dict[str, list[int]]
    volunteers: dict[str, list[int]]  # distinct volunteers per month (not summed over the year)
    held_hours: dict[str, list[float]]  # held for review: not credited until staff confirm
    held_sessions: dict[str, list[int]]


class RatedSession(BaseModel):
    """A resident's stars for a session, with its volunteer and activity."""

    rating: str
    session: str
    activity: str
    activity_title: str
    service_type: str
    volunteer: str
    rated_by: str
    stars: int
    rate_time: datetime | None


class RatingSummary(BaseModel):
    """Ratings counted together ("all" for every service type)."""

    service_type: str
    count: int
    mean_stars: float
    star_counts: list[int]  # how many gave 1, 2, 3, 4 and 5 stars


class Ratings(BaseModel):
    """A page of a year's ratings, newest first, and the summary of all of them."""

    year: int
    ratings: list[RatedSession]
    next_page_token: str
    by_service_type: list[RatingSummary]
    overall: RatingSummary


def _activity(a: att.Activity) -> Activity:
    return Activity(
        activity=a.name,
        title=a.title,
        service_type=enum_name(stp.ServiceType.Name(a.service_type), "SERVICE_TYPE_"),
        kind=enum_name(att.ActivityKind.Name(a.kind), "ACTIVITY_KIND_"),
        place=a.place,
        capacity=a.capacity,
        checklist=list(a.checklist),
        check_in_code=a.check_in_code,
        start_time=when(a, "start_time"),
        end_time=when(a, "end_time"),
        close_time=when(a, "close_time"),
        occurrences=[
            Occurrence(start_time=when(o, "start_time"), end_time=when(o, "end_time"))
            for o in a.occurrences
        ],
    )


def _flag(f: att.Flag) -> Flag:
    return Flag(
        flag=f.name,
        kind=enum_name(att.FlagKind.Name(f.kind), "FLAG_KIND_"),
        reason=f.reason,
        resident=f.resident,
        activity=f.activity,
        session=f.session,
        raise_time=when(f, "raise_time"),
        resolved_by=f.resolved_by,
        resolve_time=when(f, "resolve_time"),
    )


def _session(s: att.Session) -> Session:
    face = s.sign_in.face if s.sign_in.HasField("face") else None
    return Session(
        session=s.name,
        activity=s.name.rpartition("/sessions/")[0],
        resident=s.resident,
        status=enum_name(att.SessionStatus.Name(s.status), "SESSION_STATUS_"),
        method=enum_name(att.SignInMethod.Name(s.method), "SIGN_IN_METHOD_"),
        confirmed_by=s.confirmed_by,
        reviewed_by=s.reviewed_by,
        sign_in_time=when(s, "sign_in_time"),
        sign_out_time=when(s, "sign_out_time"),
        duration_seconds=s.duration_seconds,
        window_start=when(s.window, "start_time") if s.HasField("window") else None,
        window_end=when(s.window, "end_time") if s.HasField("window") else None,
        paper_sheet_reason=s.paper_sheet_reason,
        face_similarity=face.similarity if face else None,
        face_threshold=face.threshold if face else None,
        corrections=[
            Correction(
                previous_duration_seconds=c.previous_duration_seconds,
                duration_seconds=c.duration_seconds,
                corrected_by=c.corrected_by,
                reason=c.reason,
                correct_time=when(c, "correct_time"),
            )
            for c in s.corrections
        ],
        checklist_done=list(s.checklist_done),
        served=list(s.served),
    )


async def activities(svc: Services, person: Person) -> list[Activity]:
    """The community's activities by start time (the first page of LIST_SIZE)."""
    request = att.ListActivitiesRequest(
        parent=f"communities/{person.community}", page_size=LIST_SIZE
    )
    reply = await svc.attendance.ListActivities(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return [_activity(a) for a in reply.activities]


async def activity(svc: Services, person: Person, name: str) -> Activity:
    """One activity."""
    request = att.GetActivityRequest(name=name)
    reply = await svc.attendance.GetActivity(request, metadata=person.metadata, timeout=svc.timeout)
    return _activity(reply.activity)


@dataclass(frozen=True)
class NewActivity:
    """What the create-activity form asks."""

    title: str
    service_type: str
    kind: str
    start_time: datetime
    end_time: datetime
    place: str = ""
    capacity: int = 0
    occurrence_count: int = 0
    checklist_template: str = ""


async def create_activity(
    svc: Services, person: Person, new: NewActivity, request_id: str
) -> Activity:
    """Create an activity (attendance checks every field)."""
    given = att.Activity(
        title=new.title,
        service_type=stp.ServiceType.Value(f"SERVICE_TYPE_{new.service_type.upper()}"),
        kind=att.ActivityKind.Value(f"ACTIVITY_KIND_{new.kind.upper()}"),
        start_time=stamp(new.start_time),
        end_time=stamp(new.end_time),
        place=new.place,
        capacity=new.capacity,
        occurrence_count=new.occurrence_count,
    )
    request = att.CreateActivityRequest(
        parent=f"communities/{person.community}",
        activity=given,
        checklist_template=new.checklist_template,
        request_id=request_id,
    )
    reply = await svc.attendance.CreateActivity(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _activity(reply.activity)


async def close_activity(svc: Services, person: Person, name: str, request_id: str) -> Activity:
    """Close an activity to new sign-ins."""
    request = att.CloseActivityRequest(name=name, request_id=request_id)
    reply = await svc.attendance.CloseActivity(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _activity(reply.activity)


async def flags(svc: Services, person: Person, open_only: bool = True) -> list[Flag]:
    """The community's flags, newest first (open ones only by default)."""
    request = att.ListFlagsRequest(
        parent=f"communities/{person.community}", page_size=LIST_SIZE, open_only=open_only
    )
    reply = await svc.attendance.ListFlags(request, metadata=person.metadata, timeout=svc.timeout)
    return [_flag(f) for f in reply.flags]


async def resolve_flag(svc: Services, person: Person, name: str, request_id: str) -> Flag:
    """Mark a flag as dealt with."""
    request = att.ResolveFlagRequest(name=name, request_id=request_id)
    reply = await svc.attendance.ResolveFlag(request, metadata=person.metadata, timeout=svc.timeout)
    return _flag(reply.flag)


async def session(svc: Services, person: Person, name: str) -> Session:
    """One session with its records and corrections."""
    request = att.GetSessionRequest(name=name)
    reply = await svc.attendance.GetSession(request, metadata=person.metadata, timeout=svc.timeout)
    return _session(reply.session)


async def confirm_session(svc: Services, person: Person, name: str, request_id: str) -> Session:
    """Confirm a session held for review (a forgotten sign-out, an uncertain face)."""
    request = att.ConfirmSessionRequest(name=name, request_id=request_id)
    reply = await svc.attendance.ConfirmSession(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _session(reply.session)


async def correct_session(
    svc: Services, person: Person, name: str, duration_seconds: int, reason: str, request_id: str
) -> Session:
    """Correct a closed session's counted time, with the reason."""
    request = att.CorrectSessionRequest(
        name=name, duration_seconds=duration_seconds, reason=reason, request_id=request_id
    )
    reply = await svc.attendance.CorrectSession(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _session(reply.session)


async def record_checklist(
    svc: Services, person: Person, name: str, steps: list[str], request_id: str
) -> Session:
    """Record which operating-checklist steps a session completed."""
    request = att.RecordChecklistRequest(name=name, completed_steps=steps, request_id=request_id)
    reply = await svc.attendance.RecordChecklist(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _session(reply.session)


async def record_served(
    svc: Services, person: Person, name: str, residents_served: list[str], request_id: str
) -> Session:
    """Record the residents a session served: only they may rate it (A5)."""
    request = att.RecordServedRequest(
        session=name, residents=residents_served, request_id=request_id
    )
    reply = await svc.attendance.RecordServed(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _session(reply.session)


async def enter_paper_session(
    svc: Services,
    person: Person,
    activity_name: str,
    resident: str,
    signed_in: datetime,
    signed_out: datetime,
    reason: str,
    request_id: str,
) -> Session:
    """Enter a session from a paper sign-in sheet (the caller confirms it)."""
    request = att.EnterPaperSessionRequest(
        activity=activity_name,
        resident=resident,
        sign_in_time=stamp(signed_in),
        sign_out_time=stamp(signed_out),
        reason=reason,
        request_id=request_id,
    )
    reply = await svc.attendance.EnterPaperSession(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return _session(reply.session)


async def residents(svc: Services, person: Person) -> list[Resident]:
    """The community's residents, oldest first; empty for staff identity does not let list."""
    request = idn.ListResidentsRequest(
        parent=f"communities/{person.community}", page_size=LIST_SIZE
    )
    try:
        reply = await svc.identity.ListResidents(
            request, metadata=person.metadata, timeout=svc.timeout
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.PERMISSION_DENIED:
            raise
        return []  # the forms then ask for a resident id instead of offering a list
    return [
        Resident(
            resident=r.name, display_name=r.display_name, org_unit=r.org_unit, roles=list(r.roles)
        )
        for r in reply.residents
    ]


async def roster(
    svc: Services, person: Person, activity_name: str, occurrence: datetime | None
) -> list[RosterEntry]:
    """Who is expected at one occurrence, in the order they were put on it (every page)."""
    request = att.ListRosterEntriesRequest(activity=activity_name)
    if occurrence is not None:
        request.occurrence_start_time.CopyFrom(stamp(occurrence))
    entries = await every_page(
        svc.attendance.ListRosterEntries,
        request,
        "entries",
        ROSTER_BOUND,
        metadata=person.metadata,
        timeout=svc.timeout,
    )
    return [
        RosterEntry(
            resident=e.resident,
            role=enum_name(att.RosterRole.Name(e.role), "ROSTER_ROLE_"),
            added_by=e.added_by,
            add_time=when(e, "add_time"),
        )
        for e in entries
    ]


async def add_roster_entry(
    svc: Services,
    person: Person,
    activity_name: str,
    occurrence: datetime | None,
    resident: str,
    role: str,
    request_id: str,
) -> None:
    """Put a resident on an occurrence's roster as a volunteer or as its staff."""
    request = att.AddRosterEntryRequest(
        activity=activity_name,
        resident=resident,
        role=att.RosterRole.Value(f"ROSTER_ROLE_{role.upper()}"),
        request_id=request_id,
    )
    if occurrence is not None:
        request.occurrence_start_time.CopyFrom(stamp(occurrence))
    await svc.attendance.AddRosterEntry(request, metadata=person.metadata, timeout=svc.timeout)


async def import_residents(
    svc: Services, person: Person, csv: bytes, request_id: str
) -> ImportResult:
    """Import residents from the government system's CSV: all rows, or none and why."""
    request = idn.ImportResidentsRequest(
        parent=f"communities/{person.community}", csv=csv, request_id=request_id
    )
    reply = await svc.identity.ImportResidents(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    return ImportResult(
        imported=reply.imported,
        errors=[RowError(line=e.line, message=e.message) for e in reply.errors],
    )


async def export_residents(svc: Services, person: Person) -> AsyncIterator[bytes]:
    """The community's residents as one CSV for the government system, the header once: the
    pages of identity's export one after another, each sent on as it comes. The first page is
    asked for before this returns, so a refusal is an error response, not a broken download."""
    request = idn.ExportResidentsRequest(
        parent=f"communities/{person.community}", page_size=EXPORT_PAGE
    )
    options = {"metadata": person.metadata, "timeout": svc.timeout}
    first = await svc.identity.ExportResidents(request, **options)

    async def pages(reply: idn.ExportResidentsResponse) -> AsyncIterator[bytes]:
        yield bytes(reply.csv)
        while reply.next_page_token:
            request.page_token = reply.next_page_token
            reply = await svc.identity.ExportResidents(request, **options)
            yield bytes(reply.csv).partition(b"\n")[2]  # without the page's header row

    return pages(first)


async def items(svc: Services, person: Person) -> list[Item]:
    """Every item of the catalogue (staff see retired ones too)."""
    request = rwd.ListItemsRequest(parent=f"communities/{person.community}", page_size=LIST_SIZE)
    reply = await svc.rewards.ListItems(request, metadata=person.metadata, timeout=svc.timeout)
    return [
        Item(
            item=i.name,
            title=i.title,
            kind=enum_name(rwd.ItemKind.Name(i.kind), "ITEM_KIND_"),
            price_centipoints=i.price_centipoints,
            stock=i.stock,
            partner=i.partner,
            retired=i.retired,
        )
        for i in reply.items
    ]


@dataclass(frozen=True)
class NewItem:
    """What the new-item form asks."""

    item_id: str
    title: str
    kind: str
    price_centipoints: int
    stock: int
    value_fen: int = 0
    description: str = ""


async def create_item(svc: Services, person: Person, new: NewItem, request_id: str) -> None:
    """Add an item to the catalogue."""
    given = rwd.Item(
        title=new.title,
        description=new.description,
        kind=rwd.ItemKind.Value(f"ITEM_KIND_{new.kind.upper()}"),
        price_centipoints=new.price_centipoints,
        value_fen=new.value_fen,
        stock=new.stock,
    )
    request = rwd.CreateItemRequest(
        parent=f"communities/{person.community}",
        item_id=new.item_id,
        item=given,
        request_id=request_id,
    )
    await svc.rewards.CreateItem(request, metadata=person.metadata, timeout=svc.timeout)


async def restock_item(
    svc: Services, person: Person, name: str, add_stock: int, request_id: str
) -> None:
    """Add stock to an item."""
    request = rwd.RestockItemRequest(name=name, add_stock=add_stock, request_id=request_id)
    await svc.rewards.RestockItem(request, metadata=person.metadata, timeout=svc.timeout)


async def courses_and_teachers(svc: Services, person: Person) -> tuple[list[Course], list[Teacher]]:
    """The course catalogue and the teacher pool."""
    parent = f"communities/{person.community}"
    courses, teachers = await asyncio.gather(
        svc.training.ListCourses(
            trn.ListCoursesRequest(parent=parent, page_size=LIST_SIZE),
            metadata=person.metadata,
            timeout=svc.timeout,
        ),
        svc.training.ListTeachers(
            trn.ListTeachersRequest(parent=parent, page_size=LIST_SIZE),
            metadata=person.metadata,
            timeout=svc.timeout,
        ),
    )
    return (
        [
            Course(
                course=c.name,
                title=c.title,
                tier=enum_name(trn.Tier.Name(c.tier), "TIER_"),
                hours=c.hours,
                credits=c.credits,
            )
            for c in courses.courses
        ],
        [
            Teacher(
                teacher=t.name,
                display_name=t.display_name,
                kind=enum_name(trn.TeacherKind.Name(t.kind), "TEACHER_KIND_"),
                organisation=t.organisation,
                qualified_courses=list(t.qualified_courses),
            )
            for t in teachers.teachers
        ],
    )


async def create_course(
    svc: Services,
    person: Person,
    course_id: str,
    title: str,
    tier: str,
    hours: int,
    request_id: str,
) -> None:
    """Add a course to the catalogue."""
    request = trn.CreateCourseRequest(
        parent=f"communities/{person.community}",
        course_id=course_id,
        course=trn.Course(title=title, tier=trn.Tier.Value(f"TIER_{tier.upper()}"), hours=hours),
        request_id=request_id,
    )
    await svc.training.CreateCourse(request, metadata=person.metadata, timeout=svc.timeout)


async def create_teacher(
    svc: Services,
    person: Person,
    display_name: str,
    kind: str,
    organisation: str,
    courses: list[str],
    request_id: str,
) -> None:
    """Add a teacher to the pool with the courses they may teach."""
    given = trn.Teacher(
        display_name=display_name,
        kind=trn.TeacherKind.Value(f"TEACHER_KIND_{kind.upper()}"),
        organisation=organisation,
        qualified_courses=courses,
    )
    request = trn.CreateTeacherRequest(
        parent=f"communities/{person.community}", teacher=given, request_id=request_id
    )
    await svc.training.CreateTeacher(request, metadata=person.metadata, timeout=svc.timeout)


def _agreement(a: prt.Agreement) -> Agreement:
    return Agreement(
        agreement=a.name,
        title=a.title,
        terms=a.terms,
        sign_date=a.sign_date,
        start_date=a.start_date,
        end_date=a.end_date,
        state=enum_name(prt.AgreementState.Name(a.state), "AGREEMENT_STATE_"),
    )


async def partners(svc: Services, person: Person) -> list[Partner]:
    """The community's partners, each with its agreements."""
    request = prt.ListPartnersRequest(parent=f"communities/{person.community}", page_size=LIST_SIZE)
    reply = await svc.partners.ListPartners(request, metadata=person.metadata, timeout=svc.timeout)
    agreements = await asyncio.gather(
        *(
            svc.partners.ListAgreements(
                prt.ListAgreementsRequest(parent=p.name, page_size=100),
                metadata=person.metadata,
                timeout=svc.timeout,
            )
            for p in reply.partners
        )
    )
    return [
        Partner(
            partner=p.name,
            display_name=p.display_name,
            kind=enum_name(prt.PartnerKind.Name(p.kind), "PARTNER_KIND_"),
            revoked=p.revoked,
            agreements=[_agreement(a) for a in found.agreements],
        )
        for p, found in zip(reply.partners, agreements, strict=True)
    ]


async def create_partner(
    svc: Services, person: Person, partner_id: str, display_name: str, kind: str, request_id: str
) -> None:
    """Register a partner enterprise (no scopes until staff grant them)."""
    request = prt.CreatePartnerRequest(
        parent=f"communities/{person.community}",
        partner_id=partner_id,
        partner=prt.Partner(
            display_name=display_name,
            kind=prt.PartnerKind.Value(f"PARTNER_KIND_{kind.upper()}"),
        ),
        request_id=request_id,
    )
    await svc.partners.CreatePartner(request, metadata=person.metadata, timeout=svc.timeout)


@dataclass(frozen=True)
class NewAgreement:
    """What the agreement form asks (dates YYYY-MM-DD)."""

    title: str
    terms: str
    sign_date: str
    start_date: str
    end_date: str


async def create_agreement(
    svc: Services, person: Person, partner: str, new: NewAgreement, request_id: str
) -> None:
    """Record a signed agreement with a partner."""
    request = prt.CreateAgreementRequest(
        parent=partner,
        agreement=prt.Agreement(
            title=new.title,
            terms=new.terms,
            sign_date=new.sign_date,
            start_date=new.start_date,
            end_date=new.end_date,
        ),
        request_id=request_id,
    )
    await svc.partners.CreateAgreement(request, metadata=person.metadata, timeout=svc.timeout)


SERVED_TYPES = ("regular", "professional", "high_risk")  # course sessions are not service


def _service_type(code: int) -> str:
    return enum_name(stp.ServiceType.Name(code), "SERVICE_TYPE_")


async def served_hours(svc: Services, person: Person, year: int = 0) -> ServedHours:
    """Hours served per service type and month of a year (0: this year), from attendance."""
    request = att.ReportServedHoursRequest(parent=f"communities/{person.community}", year=year)
    reply = await svc.attendance.ReportServedHours(
        request, metadata=person.metadata, timeout=svc.timeout
    )
    tables: dict[str, dict[str, list[float]]] = {
        field: {t: [0.0] * 12 for t in SERVED_TYPES}
        for field in ("hours", "sessions", "volunteers", "held_hours", "held_sessions")
    }
    for row in reply.hours:
        kind, month = _service_type(row.service_type), row.month - 1
        if kind not in SERVED_TYPES or not 0 <= month < 12:
            continue
        tables["hours"][kind][month] = row.served_seconds / 3600
        tables["sessions"][kind][month] = row.sessions
        tables["volunteers"][kind][month] = row.volunteers
        tables["held_hours"][kind][month] = row.held_seconds / 3600
        tables["held_sessions"][kind][month] = row.held_sessions
    counts = {
        field: {t: [int(n) for n in months] for t, months in tables[field].items()}
        for field in ("sessions", "volunteers", "held_sessions")
    }
    return ServedHours(
        year=reply.year,
        hours=tables["hours"],
        held_hours=tables["held_hours"],
        sessions=counts["sessions"],
        volunteers=counts["volunteers"],
        held_sessions=counts["held_sessions"],
    )


def _summary(found: att.RatingSummary) -> RatingSummary:
    return RatingSummary(
        service_type=_service_type(found.service_type) if found.service_type else "all",
        count=found.count,
        mean_stars=found.mean_stars,
        star_counts=list(found.star_counts),
    )


async def ratings(
    svc: Services, person: Person, activity_name: str = "", year: int = 0, page_token: str = ""
) -> Ratings:
    """A page of the year's ratings (of one activity, if named) with their summary."""
    request = att.ListRatingsRequest(
        parent=f"communities/{person.community}",
        activity=activity_name,
        year=year,
        page_size=100,
        page_token=page_token,
    )
    reply = await svc.attendance.ListRatings(request, metadata=person.metadata, timeout=svc.timeout)
    year_shown = year or policy_year(datetime.now(UTC))
    return Ratings(
        year=year_shown,
        ratings=[
            RatedSession(
                rating=r.rating.name,
                session=r.session,
                activity=r.activity,
                activity_title=r.activity_title,
                service_type=_service_type(r.service_type),
                volunteer=r.volunteer,
                rated_by=r.rating.rated_by,
                stars=r.rating.stars,
                rate_time=when(r.rating, "rate_time"),
            )
            for r in reply.ratings
        ],
        next_page_token=reply.next_page_token,
        by_service_type=[_summary(s) for s in reply.by_service_type],
        overall=_summary(reply.overall),
    )


@dataclass(frozen=True)
class Bar:
    """One bar of the grouped chart."""

    month: int
    service_type: str
    x: float
    y: float
    width: float
    height: float
    hours: float


@dataclass(frozen=True)
class GroupedChart:
    """Bars of every service type in each month, scaled into a viewBox."""

    width: int
    height: int
    baseline: float
    step: float
    bars: tuple[Bar, ...]
    top_hours: float


def grouped_chart(
    hours: dict[str, list[float]], width: int = 480, height: int = 200
) -> GroupedChart:
    """Twelve groups of bars (one a service type), scaled to the highest bar."""
    top = max((h for months in hours.values() for h in months), default=0.0)
    types = list(hours)
    label_room, step = 18.0, width / 12
    baseline, each = height - label_room, step * 0.8 / max(len(types), 1)
    bars = []
    for month in range(12):
        for index, kind in enumerate(types):
            value = hours[kind][month]
            tall = (baseline - 8) * value / top if top else 0.0
            x = month * step + step * 0.1 + index * each
            bars.append(Bar(month + 1, kind, x, baseline - tall, each, tall, value))
    return GroupedChart(width, height, baseline, step, tuple(bars), top)
