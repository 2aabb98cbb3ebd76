"""Activities and the sessions that measure a volunteer's service (A1-A3, O3).

Duration rules (A2), applied in this module:

- **Window.** An activity runs as one or more occurrences: routine activities weekly,
  periodic ones monthly (same local day of the month, clipped to the month's last day),
  emergencies once. Sign-in to an occurrence is open from EARLY_SIGN_IN before it starts
  until it ends; any other time is refused with the nearest window in the reason.
- **Counted time** is the part of the session inside its occurrence's window: time before
  the start or after the end never counts.
- **Rounding.** The counted duration is truncated to whole seconds and nothing coarser:
  points converts seconds to hundredths of a point exactly, so rounding to minutes or
  quarter hours here would only lose or invent service time.
- **Time cap.** At most the community's time cap (Limits.time_cap) is counted per resident
  and local day (LOCAL_TZ); a session belongs to the day of its sign-in, whenever it ends. A
  session that would pass the cap is cut to the remainder and flagged.
- **Forgotten sign-out.** A session still open the sign-out grace (Limits.sign_out_grace)
  after its occurrence ends is
  closed at the occurrence's end and held for staff review: no SessionCompleted (so no
  points) until a staff member confirms it. A sign-out arriving after the grace is held the
  same way.
- **Overlap.** A session of one resident may not overlap another of theirs (see review.py:
  at another place it is also flagged as two sites at once).
- **Paper sign-in sheets.** Staff enter a session that was signed on paper in one step,
  with its sign-in and sign-out, who confirmed it and why; it is never open, so the
  forgotten sign-out sweep cannot close it half-entered, and it follows every rule above.
- **Corrections.** Staff set a new counted duration with a reason; the previous value stays
  in the session's correction history, and SessionCorrected tells points to reverse the
  earlier award and make the corrected one. Nothing published is edited in place.
"""

from __future__ import annotations

import calendar
import hmac
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from linli_attendance.domain.limits import POLICY_LIMITS, Limits
from linli_attendance.domain.names import ACTIVITY
from linli_attendance.domain.review import (
    Attempt,
    Concern,
    FlagKind,
    SelfConfirmation,
    TooManySessions,
    TwoSitesAtOnce,
)
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied

# A volunteer may sign in this long before the activity starts; time before the start never counts.
EARLY_SIGN_IN = timedelta(minutes=30)
# Clocks of kiosks and staff phones drift; a time further ahead than this is refused.
CLOCK_SKEW = timedelta(minutes=2)
# Days (and so the per-day cap and the monthly recurrence) are the community's local days.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_TITLE = 100
MAX_PLACE = 200
MAX_REASON = 500
MAX_OCCURRENCES = 104
MAX_STEPS = 20
# The platform's calendar: activities, sign-ins and paper sheets fall in these years, far inside
# what dates and the database hold, so no local-day or recurrence arithmetic overflows.
CALENDAR_START, CALENDAR_END = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
# Recurrences must not let one occurrence's sign-in window reach into the next.
SHORTEST_GAP = {"routine": timedelta(days=7), "periodic": timedelta(days=28)}

# Operating checklists shipped as templates (A3); an activity may also list its own steps.
CHECKLISTS: dict[str, tuple[str, ...]] = {
    # Environment cleaning, 8 steps.
    "cleaning": (
        "工具准备",  # prepare tools and protective gear
        "区域划分",  # divide the area among the volunteers
        "垃圾分类",  # sort the rubbish
        "清扫保洁",  # sweep and wipe
        "死角清理",  # clear corners and drains
        "垃圾清运",  # carry the sorted rubbish to collection points
        "工具归还",  # return and clean the tools
        "拍照记录",  # photograph the result for the record
    ),
    # Elder care home visit: 一问二看三记录.
    "elder_care": (
        "一问",  # ask about health, needs and worries
        "二看",  # look at the living conditions and safety hazards
        "三记录",  # record the visit and any follow-up
    ),
}


class ServiceType(StrEnum):
    """The kind of service rendered (P1); TRAINING is attending a course session (T3, P5)."""

    REGULAR = "regular"
    PROFESSIONAL = "professional"
    HIGH_RISK = "high_risk"
    TRAINING = "training"


class ScheduleKind(StrEnum):
    """How often an activity runs (A3): its schedule kind."""

    ROUTINE = "routine"
    PERIODIC = "periodic"
    EMERGENCY = "emergency"


class SignInMethod(StrEnum):
    """How a sign-in or sign-out was made (A1)."""

    STAFF_CONFIRMED = "staff_confirmed"
    QR_CODE = "qr_code"
    PIN = "pin"
    FACE = "face"
    PAPER_SHEET = "paper_sheet"


class SessionStatus(StrEnum):
    """Where a session is in its life."""

    OPEN = "open"
    COMPLETED = "completed"
    PENDING_REVIEW = "pending_review"


class AlreadySignedIn(FailedPrecondition):
    """The resident has an open session at this activity."""


class NotSignedIn(FailedPrecondition):
    """The resident has no open session at this activity."""


class OutsideWindow(FailedPrecondition):
    """The time falls outside the activity's sign-in window."""


class ActivityClosed(FailedPrecondition):
    """Staff closed the activity; nobody may sign in any more."""


class ActivityFull(FailedPrecondition):
    """The occurrence has as many volunteers as the activity's capacity."""


class KioskNotBound(PermissionDenied):
    """The kiosk is not one of the activity's kiosks."""


class WrongCheckInCode(PermissionDenied):
    """The QR code or PIN is not the activity's check-in code."""


class OverlappingSession(FailedPrecondition):
    """The session would overlap another of the same resident's at the same place."""


@dataclass(frozen=True)
class Window:
    """One occurrence of an activity, from its start to its end."""

    starts_at: datetime
    ends_at: datetime

    def counted_seconds(self, signed_in_at: datetime, signed_out_at: datetime) -> int:
        """Service time inside the window, truncated to whole seconds."""
        start, end = max(signed_in_at, self.starts_at), min(signed_out_at, self.ends_at)
        return max(0, int((end - start).total_seconds()))

    @property
    def seconds(self) -> int:
        """The window's length in whole seconds."""
        return int((self.ends_at - self.starts_at).total_seconds())


@dataclass(frozen=True)
class FaceMatch:
    """The decision record of a face identification: engine, model, similarity and bar.

    Identity's open-set evidence comes with it (issue #19): how many of the roster were
    enrolled, the second-best score, the margin and verification bar, the frames that agreed,
    and whether it was a close call that staff must confirm.
    """

    engine: str
    model_version: str
    similarity: float
    threshold: float
    gallery_size: int = 0
    second_similarity: float = -1.0
    required_margin: float = 0.0
    verification_threshold: float = 0.0
    agreeing_frames: int = 0
    frames: int = 0
    needs_confirmation: bool = False

    @property
    def concern(self) -> Concern | None:
        """What staff must look at when the face was a close call; None when it was not."""
        if not self.needs_confirmation:
            return None
        return Concern(
            FlagKind.FACE_UNCERTAIN,
            f"face close call ({self.engine}: best {self.similarity:.3f}, second "
            f"{self.second_similarity:.3f}, threshold {self.threshold:.3f} for "
            f"{self.gallery_size} enrolled, margin {self.required_margin:.3f}, "
            f"{self.agreeing_frames}/{self.frames} frames agreed): staff confirm who it is",
        )


@dataclass(frozen=True)
class Proof:
    """How a sign-in or sign-out was made: method, confirming staff, kiosk and face decision."""

    method: SignInMethod
    confirmed_by: str = ""
    kiosk_id: str = ""
    face: FaceMatch | None = None


@dataclass(frozen=True, kw_only=True)
class SessionCompleted(DomainEvent):
    """A volunteer's session is final; points awards its counted duration."""

    activity_id: str
    session_id: str
    resident_id: str
    service_type: ServiceType
    signed_in_at: datetime
    signed_out_at: datetime
    duration_seconds: int


@dataclass(frozen=True, kw_only=True)
class SessionCorrected(DomainEvent):
    """Staff corrected a session's counted duration; points reverses and re-awards."""

    activity_id: str
    session_id: str
    resident_id: str
    service_type: ServiceType
    previous_duration_seconds: int
    duration_seconds: int
    corrected_by: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class FaceReenrolmentSuggested(DomainEvent):
    """Most of a resident's recent face decisions were close calls: enrol their face again."""

    resident_id: str
    needing_confirmation: int
    considered: int


# Of a resident's last REENROL_WINDOW face decisions, REENROL_AFTER close calls prompt a
# re-enrolment: staff see a FACE_REENROLMENT flag and FaceReenrolmentSuggested is published.
REENROL_WINDOW = 5
REENROL_AFTER = 3


def reenrolment_due(decisions: Sequence[FaceMatch]) -> bool:
    """Whether the newest decision (last) is the close call that reaches REENROL_AFTER.

    Only the crossing counts, so a run of close calls prompts once, not at every sign-in.
    """
    recent = decisions[-REENROL_WINDOW:]
    return (
        bool(recent)
        and recent[-1].needs_confirmation
        and sum(d.needs_confirmation for d in recent) == REENROL_AFTER
    )


@dataclass(frozen=True, kw_only=True)
class EmergencyCalled(DomainEvent):
    """An emergency activity opened and asks the volunteers of its org units to respond."""

    activity_id: str
    title: str
    org_units: tuple[str, ...]
    starts_at: datetime


@dataclass(frozen=True)
class Correction:
    """One staff correction of a session's counted duration, kept forever."""

    previous_duration_seconds: int
    duration_seconds: int
    corrected_by: str
    reason: str
    corrected_at: datetime


def check_in_calendar(at: datetime, what: str) -> None:
    """Refuse a time outside the platform's calendar (the years 2000 to 2199)."""
    if not CALENDAR_START <= at < CALENDAR_END:
        raise InvalidArgument(f"{what} must fall in the years 2000 to 2199")


def local_day(at: datetime) -> tuple[datetime, datetime]:
    """The start and end of the local day (LOCAL_TZ) that contains the instant."""
    local = at.astimezone(LOCAL_TZ)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _add_months(at: datetime, months: int) -> datetime:
    local = at.astimezone(LOCAL_TZ)
    year, month = divmod(local.month - 1 + months, 12)
    year, month = local.year + year, month + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(at.tzinfo)


def checklist_steps(steps: Sequence[str], template: str = "") -> tuple[str, ...]:
    """The steps given, or else those of a shipped template (CHECKLISTS) named instead."""
    if steps or not template:
        return tuple(steps)
    if template not in CHECKLISTS:
        raise InvalidArgument(f"checklist_template must be one of {', '.join(sorted(CHECKLISTS))}")
    return CHECKLISTS[template]


def _steps(checklist: Sequence[str]) -> tuple[str, ...]:
    steps = tuple(step.strip() for step in checklist)
    if any(not step for step in steps) or len(set(steps)) != len(steps):
        raise InvalidArgument("activity.checklist steps must be non-empty and distinct")
    if len(steps) > MAX_STEPS:
        raise InvalidArgument(f"activity.checklist has more than {MAX_STEPS} steps")
    return steps


@dataclass(kw_only=True, eq=False)
class Activity(Aggregate):
    """A service project with its schedule, site, kiosks and operating checklist."""

    community_id: str
    id: str
    title: str
    service_type: ServiceType
    kind: ScheduleKind
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    place: str = ""
    capacity: int = 0
    occurrence_count: int = 1
    kiosk_ids: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    check_in_code: str = ""
    closed_at: datetime | None = None
    # Whether anyone has applied to lead it (O4): read with it; the applications are stored apart.
    led: bool = False

    @classmethod
    def plan(
        cls,
        community_id: str,
        title: str,
        service_type: ServiceType,
        kind: ScheduleKind,
        starts_at: datetime,
        ends_at: datetime,
        at: datetime,
        *,
        place: str = "",
        capacity: int = 0,
        occurrence_count: int = 1,
        kiosk_ids: Sequence[str] = (),
        checklist: Sequence[str] = (),
        org_units: Sequence[str] = (),
    ) -> Activity:
        """A new activity; an emergency one opens at once and calls on its org units, if any."""
        title = (title or "").strip()
        if not title:
            raise InvalidArgument("activity.title is required")
        if len(title) > MAX_TITLE:
            raise InvalidArgument(f"activity.title is longer than {MAX_TITLE} characters")
        if ends_at <= starts_at:
            raise InvalidArgument("activity.end_time must be after activity.start_time")
        check_in_calendar(starts_at, "activity.start_time")
        check_in_calendar(ends_at, "activity.end_time")
        if len(place) > MAX_PLACE:
            raise InvalidArgument(f"activity.place is longer than {MAX_PLACE} characters")
        if capacity < 0:
            raise InvalidArgument("activity.capacity must not be negative")
        if not 1 <= occurrence_count <= MAX_OCCURRENCES:
            raise InvalidArgument(f"activity.occurrence_count must be 1 to {MAX_OCCURRENCES}")
        if occurrence_count > 1:
            if kind is ScheduleKind.EMERGENCY:
                raise InvalidArgument("an emergency activity runs once")
            if ends_at - starts_at + EARLY_SIGN_IN > SHORTEST_GAP[kind.value]:
                raise InvalidArgument("a recurring activity's occurrences must not overlap")
        if kind is ScheduleKind.EMERGENCY and starts_at > at + CLOCK_SKEW:
            raise InvalidArgument("an emergency activity starts at once, not later")
        activity = cls(
            community_id=community_id,
            id=f"a{uuid.uuid4().hex}",
            title=title,
            service_type=service_type,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=at,
            place=place.strip(),
            capacity=capacity,
            occurrence_count=occurrence_count,
            kiosk_ids=tuple(dict.fromkeys(kiosk_ids)),
            checklist=_steps(checklist),
            org_units=tuple(dict.fromkeys(org_units)),
            check_in_code=f"{secrets.randbelow(10**6):06d}",
        )
        check_in_calendar(activity.occurrences()[-1].ends_at, "the last occurrence")
        # Without org units there is nobody to call: the activity opens as it did before
        # call-outs existed, which keeps older clients' behaviour unchanged.
        if kind is ScheduleKind.EMERGENCY and activity.org_units:
            activity.events.append(
                EmergencyCalled(
                    community_id=community_id,
                    occurred_at=at,
                    activity_id=activity.id,
                    title=title,
                    org_units=activity.org_units,
                    starts_at=starts_at,
                )
            )
        return activity

    @property
    def name(self) -> str:
        """The activity's resource name."""
        return ACTIVITY.format(community=self.community_id, activity=self.id)

    def occurrences(self) -> list[Window]:
        """Every occurrence of the activity, in order."""
        length = self.ends_at - self.starts_at
        starts = [
            self.starts_at + timedelta(weeks=n)
            if self.kind is ScheduleKind.ROUTINE
            else _add_months(self.starts_at, n)
            for n in range(self.occurrence_count)
        ]
        return [Window(start, start + length) for start in starts]

    def window_at(self, at: datetime) -> Window | None:
        """The occurrence whose sign-in window contains the time, if any."""
        for window in self.occurrences():
            if window.starts_at - EARLY_SIGN_IN <= at <= window.ends_at:
                return window
        return None

    def check_kiosk(self, kiosk_id: str) -> None:
        """Refuse a kiosk that is not bound to this activity."""
        if kiosk_id not in self.kiosk_ids:
            raise KioskNotBound(f"kiosk {kiosk_id!r} is not bound to {self.name}")

    def check_open(self) -> None:
        """Refuse sign-ins once staff closed the activity."""
        if self.closed_at is not None:
            raise ActivityClosed(f"{self.name} is closed")

    def check_code(self, code: str) -> None:
        """Refuse a QR code or PIN that is not this activity's check-in code."""
        # Activities planned before check-in codes existed have none, and accept none.
        if not self.check_in_code or not hmac.compare_digest(
            code.encode(), self.check_in_code.encode()
        ):
            raise WrongCheckInCode("the QR code or PIN is not this activity's check-in code")

    def check_confirmer(self, resident_id: str, confirmed_by: str, at: datetime) -> None:
        """Refuse (and flag) a staff member confirming their own attendance."""
        if confirmed_by == resident_id:
            raise SelfConfirmation(
                "staff cannot confirm their own attendance",
                Attempt(self.community_id, resident_id, self.id, at),
            )

    def close(self, at: datetime) -> None:
        """Stop accepting sign-ins; open sessions may still sign out."""
        if self.closed_at is not None:
            raise ActivityClosed("the activity is already closed")
        self.closed_at = at

    def sign_in(
        self,
        resident_id: str,
        open_session: Session | None,
        method: SignInMethod,
        confirmed_by: str,
        at: datetime,
        now: datetime,
        *,
        kiosk_id: str = "",
        face: FaceMatch | None = None,
        attendees: int = 0,
        today: Sequence[Session] = (),
        places: Mapping[str, str] | None = None,
        limits: Limits = POLICY_LIMITS,
    ) -> Session:
        """Open a session for the resident, checked against their sessions `today`, or refuse."""
        # `today` are the resident's sessions of the sign-in's local day, `places` their
        # activities' places: overlaps, two sites and too many sign-ins are refused.
        _not_in_future(at, now)
        self.check_open()
        if open_session is not None:
            raise AlreadySignedIn("the resident is already signed in to this activity")
        window = self._window_for(at)
        if kiosk_id:
            self.check_kiosk(kiosk_id)
        self._check_room(attendees)
        attempt = Attempt(self.community_id, resident_id, self.id, now)
        check_presence(self, resident_id, at, None, today, places or {}, limits, attempt)
        return Session(
            community_id=self.community_id,
            activity_id=self.id,
            id=f"s{uuid.uuid4().hex}",
            resident_id=resident_id,
            sign_in_proof=Proof(method, confirmed_by, kiosk_id, face),
            signed_in_at=at,
            window=window,
        )

    def enter_from_sheet(
        self,
        resident_id: str,
        signed_in_at: datetime,
        signed_out_at: datetime,
        confirmed_by: str,
        reason: str,
        now: datetime,
        *,
        attendees: int = 0,
        today: Sequence[Session] = (),
        places: Mapping[str, str] | None = None,
        limits: Limits = POLICY_LIMITS,
    ) -> tuple[Session, list[Concern]]:
        """A session signed in and out on a paper sheet, entered whole; and its concerns."""
        reason = reason.strip()
        if not reason:
            raise InvalidArgument("a paper sign-in sheet entry needs a reason")
        if len(reason) > MAX_REASON:
            raise InvalidArgument(f"the reason is longer than {MAX_REASON} characters")
        if signed_out_at <= signed_in_at:
            raise InvalidArgument("the sign-out time must be after the sign-in time")
        _not_in_future(signed_out_at, now)
        self.check_confirmer(resident_id, confirmed_by, now)
        if self.closed_at is not None and signed_in_at > self.closed_at:
            raise ActivityClosed("the sheet's sign-in is after the activity was closed")
        window = self._window_for(signed_in_at)
        self._check_room(attendees)
        attempt = Attempt(self.community_id, resident_id, self.id, now)
        check_presence(
            self, resident_id, signed_in_at, signed_out_at, today, places or {}, limits, attempt
        )
        check_sessions_today(resident_id, signed_in_at, today, limits, attempt)
        proof = Proof(SignInMethod.PAPER_SHEET, confirmed_by)
        session = Session(
            community_id=self.community_id,
            activity_id=self.id,
            id=f"s{uuid.uuid4().hex}",
            resident_id=resident_id,
            sign_in_proof=proof,
            signed_in_at=signed_in_at,
            window=window,
            paper_sheet_reason=reason,
        )
        concerns = session.sign_out(
            self,
            signed_out_at,
            now,
            proof=proof,
            counted_today=counted_on_day(today, signed_in_at),
            limits=limits,
        )
        return session, concerns

    def _check_room(self, attendees: int) -> None:
        if self.capacity and attendees >= self.capacity:
            raise ActivityFull(f"this occurrence already has {self.capacity} volunteers")

    def _window_for(self, at: datetime) -> Window:
        window = self.window_at(at)
        if window is None:
            nearest = next(
                (w for w in self.occurrences() if w.ends_at > at), self.occurrences()[-1]
            )
            raise OutsideWindow(
                f"sign-in is open from {(nearest.starts_at - EARLY_SIGN_IN).isoformat()} "
                f"to {nearest.ends_at.isoformat()}"
            )
        return window


@dataclass(kw_only=True, eq=False)
class Session(Aggregate):
    """One volunteer's presence at one occurrence of an activity."""

    community_id: str
    activity_id: str
    id: str
    resident_id: str
    sign_in_proof: Proof
    signed_in_at: datetime
    window: Window
    status: SessionStatus = SessionStatus.OPEN
    signed_out_at: datetime | None = None
    sign_out_proof: Proof | None = None
    duration_seconds: int = 0
    completed_at: datetime | None = None
    reviewed_by: str = ""
    checklist_done: tuple[str, ...] = ()
    corrections: list[Correction] = field(default_factory=list)
    served: tuple[str, ...] = ()
    paper_sheet_reason: str = ""

    @property
    def method(self) -> SignInMethod:
        """How the session was signed in to."""
        return self.sign_in_proof.method

    @property
    def confirmed_by(self) -> str:
        """The staff member who confirmed the sign-in ('' for a face sign-in)."""
        return self.sign_in_proof.confirmed_by

    def sign_out(
        self,
        activity: Activity,
        at: datetime,
        now: datetime,
        *,
        proof: Proof | None = None,
        counted_today: int = 0,
        limits: Limits = POLICY_LIMITS,
    ) -> list[Concern]:
        """Close the session and announce its duration; returns what staff should look at."""
        _not_in_future(at, now)
        if self.signed_out_at is not None:
            raise NotSignedIn("this session is already closed")
        if at < self.signed_in_at:
            raise FailedPrecondition(
                f"sign-out at {at.isoformat()} is before the sign-in at "
                f"{self.signed_in_at.isoformat()}"
            )
        self.sign_out_proof = proof or self.sign_in_proof
        if at > self.window.ends_at + limits.sign_out_grace:
            return self._hold_for_review(counted_today, limits)
        self.signed_out_at = at
        concerns = self._count(counted_today, limits)
        if self.face_uncertain:
            # A face close call names only the likeliest person: no points until staff confirm.
            self.status = SessionStatus.PENDING_REVIEW
            return concerns
        self._complete(activity, at, now)
        return concerns

    def face_decisions(self) -> list[tuple[datetime, FaceMatch]]:
        """The face decisions of its sign-in and sign-out, with when each was made."""
        found = []
        if self.sign_in_proof.face is not None:
            found.append((self.signed_in_at, self.sign_in_proof.face))
        out = self.sign_out_proof
        if out is not None and out.face is not None:
            found.append((self.signed_out_at or self.signed_in_at, out.face))
        return found

    @property
    def face_uncertain(self) -> bool:
        """Whether its face sign-in or sign-out was a close call staff must confirm."""
        proofs = (self.sign_in_proof, self.sign_out_proof)
        return any(
            p is not None and p.face is not None and p.face.needs_confirmation for p in proofs
        )

    def leave(
        self,
        activity: Activity,
        at: datetime,
        now: datetime,
        *,
        proof: Proof,
        today: Sequence[Session],
        places: Mapping[str, str],
        limits: Limits = POLICY_LIMITS,
    ) -> list[Concern]:
        """Sign out, checked against the resident's other sessions of the sign-in's day."""
        # `today` runs from the start of the sign-in's local day to the later of its end and
        # the sign-out; the time cap counts only the sessions signed in that day.
        others = [s for s in today if s.id != self.id]
        if at >= self.signed_in_at:
            attempt = Attempt(self.community_id, self.resident_id, activity.id, now, self.id)
            check_presence(
                activity, self.resident_id, self.signed_in_at, at, others, places, limits, attempt
            )
        counted = counted_on_day(others, self.signed_in_at)
        return self.sign_out(activity, at, now, proof=proof, counted_today=counted, limits=limits)

    def is_forgotten(self, now: datetime, limits: Limits = POLICY_LIMITS) -> bool:
        """Whether the session is still open past the sign-out grace after its window."""
        return (
            self.status is SessionStatus.OPEN and now > self.window.ends_at + limits.sign_out_grace
        )

    def close_forgotten(
        self, now: datetime, counted_today: int = 0, limits: Limits = POLICY_LIMITS
    ) -> list[Concern]:
        """Close a session left open past the grace at its window's end, held for review."""
        if not self.is_forgotten(now, limits):
            raise FailedPrecondition("only a session open past the sign-out grace is forgotten")
        return self._hold_for_review(counted_today, limits)

    def record_served(self, resident_ids: Sequence[str], staff_id: str, now: datetime) -> None:
        """Record the residents this session served (A5); only they may rate it."""
        if staff_id == self.resident_id:
            raise SelfConfirmation(
                "a volunteer cannot record whom their own session served",
                Attempt(self.community_id, self.resident_id, self.activity_id, now, self.id),
            )
        if not resident_ids:
            raise InvalidArgument("name at least one resident served")
        if self.resident_id in resident_ids:
            raise InvalidArgument("the volunteer is not among the residents their session served")
        self.served = tuple(dict.fromkeys((*self.served, *resident_ids)))

    def confirm(self, activity: Activity, staff_id: str, now: datetime) -> None:
        """A staff member confirms a session held for review; it now earns points."""
        self._check_reviewer(staff_id, now)
        if self.status is not SessionStatus.PENDING_REVIEW:
            raise FailedPrecondition("only a session held for review can be confirmed")
        self.reviewed_by = staff_id
        self._complete(activity, now, now)

    def correct(
        self, activity: Activity, duration_seconds: int, staff_id: str, reason: str, now: datetime
    ) -> None:
        """Set a new counted duration, keeping the old one in the history."""
        self._check_reviewer(staff_id, now)
        if self.status is SessionStatus.OPEN:
            raise FailedPrecondition("an open session cannot be corrected; sign it out first")
        if not reason.strip():
            raise InvalidArgument("a correction needs a reason")
        if len(reason) > MAX_REASON:
            raise InvalidArgument(f"the reason is longer than {MAX_REASON} characters")
        if not 0 <= duration_seconds <= self.window.seconds:
            raise InvalidArgument(
                f"duration_seconds must be 0 to {self.window.seconds} (the occurrence's length)"
            )
        if self.status is SessionStatus.COMPLETED and duration_seconds == self.duration_seconds:
            raise FailedPrecondition("the session already counts that duration")
        # Points was told a duration only if SessionCompleted (or a correction) went out.
        told = self.duration_seconds if self.status is SessionStatus.COMPLETED else 0
        self.corrections.append(
            Correction(self.duration_seconds, duration_seconds, staff_id, reason.strip(), now)
        )
        self.duration_seconds = duration_seconds
        self.reviewed_by = staff_id
        self.status = SessionStatus.COMPLETED
        self.completed_at = self.completed_at or now
        self.events.append(
            SessionCorrected(
                community_id=self.community_id,
                occurred_at=now,
                activity_id=self.activity_id,
                session_id=self.id,
                resident_id=self.resident_id,
                service_type=activity.service_type,
                previous_duration_seconds=told,
                duration_seconds=duration_seconds,
                corrected_by=staff_id,
                reason=reason.strip(),
            )
        )

    def record_checklist(self, activity: Activity, steps: Sequence[str]) -> None:
        """Mark checklist steps as done for this session, in the activity's order."""
        unknown = [step for step in steps if step not in activity.checklist]
        if unknown:
            raise InvalidArgument(f"not steps of this activity's checklist: {', '.join(unknown)}")
        done = set(self.checklist_done) | set(steps)
        self.checklist_done = tuple(step for step in activity.checklist if step in done)

    def overlaps(self, since: datetime, until: datetime | None) -> bool:
        """Whether the session's time intersects [since, until) (an open end runs forever)."""
        ends = self.signed_out_at
        return (until is None or self.signed_in_at < until) and (ends is None or since < ends)

    def _check_reviewer(self, staff_id: str, now: datetime) -> None:
        if not staff_id:
            raise InvalidArgument("the reviewing staff member is required")
        if staff_id == self.resident_id:
            raise SelfConfirmation(
                "staff cannot confirm or correct their own hours",
                Attempt(self.community_id, self.resident_id, self.activity_id, now, self.id),
            )

    def _count(self, counted_today: int, limits: Limits) -> list[Concern]:
        assert self.signed_out_at is not None
        counted = self.window.counted_seconds(self.signed_in_at, self.signed_out_at)
        cap = limits.time_cap
        room = max(0, int(cap.total_seconds()) - counted_today)
        self.duration_seconds = min(counted, room)
        if counted <= room:
            return []
        reason = f"counted {room} of {counted} s: the daily time cap of {cap} is reached"
        return [Concern(FlagKind.TIME_CAP, reason)]

    def _hold_for_review(self, counted_today: int, limits: Limits) -> list[Concern]:
        self.signed_out_at = self.window.ends_at
        self.status = SessionStatus.PENDING_REVIEW
        reason = (
            f"no sign-out within {limits.sign_out_grace} of the end: closed at "
            f"{self.window.ends_at.isoformat()}, no points until staff confirm"
        )
        return [Concern(FlagKind.FORGOTTEN_SIGN_OUT, reason), *self._count(counted_today, limits)]

    def _complete(self, activity: Activity, occurred_at: datetime, now: datetime) -> None:
        assert self.signed_out_at is not None
        self.status = SessionStatus.COMPLETED
        self.completed_at = now
        self.events.append(
            SessionCompleted(
                community_id=self.community_id,
                occurred_at=occurred_at,
                activity_id=self.activity_id,
                session_id=self.id,
                resident_id=self.resident_id,
                service_type=activity.service_type,
                signed_in_at=self.signed_in_at,
                signed_out_at=self.signed_out_at,
                duration_seconds=self.duration_seconds,
            )
        )


def check_presence(
    activity: Activity,
    resident_id: str,
    since: datetime,
    until: datetime | None,
    others: Sequence[Session],
    places: Mapping[str, str],
    limits: Limits,
    attempt: Attempt,
) -> None:
    """Refuse an overlap with the resident's other sessions (and a new one too many today)."""
    # A session at another place within the two-sites gap counts as two sites at once.
    for other in others:
        if other.resident_id != resident_id:
            continue
        elsewhere = other.activity_id != activity.id and (
            not activity.place or places.get(other.activity_id) != activity.place
        )
        gap = limits.two_sites_gap if elsewhere else timedelta(0)
        if not other.overlaps(since - gap, None if until is None else until + gap):
            continue
        if elsewhere:
            raise TwoSitesAtOnce(
                f"the resident has a session at {places.get(other.activity_id) or 'another site'}"
                f" (activities/{other.activity_id}) at the same time",
                attempt,
            )
        raise OverlappingSession(
            f"the resident has another session from {other.signed_in_at.isoformat()} "
            "at the same time"
        )
    if until is None:
        check_sessions_today(resident_id, since, others, limits, attempt)


def check_sessions_today(
    resident_id: str, at: datetime, others: Sequence[Session], limits: Limits, attempt: Attempt
) -> None:
    """Refuse (and flag) one sign-in more than the community accepts in a local day."""
    day_start, day_end = local_day(at)
    today = [s for s in others if day_start <= s.signed_in_at < day_end]
    if len(today) >= limits.max_sessions_per_day:
        raise TooManySessions(
            f"the resident already has {len(today)} sessions today; at most "
            f"{limits.max_sessions_per_day} are accepted a day",
            attempt,
        )


def counted_on_day(sessions: Sequence[Session], day_of: datetime, leave_out: str = "") -> int:
    """Seconds already counted for the sessions signed in on the same local day."""
    day_start, day_end = local_day(day_of)
    return sum(
        s.duration_seconds
        for s in sessions
        if s.id != leave_out
        and s.status is not SessionStatus.OPEN
        and day_start <= s.signed_in_at < day_end
    )


def _not_in_future(at: datetime, now: datetime) -> None:
    if at > now + CLOCK_SKEW:
        raise InvalidArgument("time must not be in the future")
