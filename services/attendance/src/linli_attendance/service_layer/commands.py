"""What the attendance use cases are asked to do: one command per mutating request.

Every command carries its caller (`actor`): the access rules take it, and a request id reused
by another caller is refused rather than answered with the first caller's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from linli_attendance.domain.activities import ScheduleKind, ServiceType, SignInMethod
from linli_attendance.domain.roster import RosterRole
from linli_attendance.service_layer.ports import LivenessChallenge
from linli_kit.principals import Principal


@dataclass(frozen=True)
class CreateActivity:
    """Plan an activity in a community; an emergency one starts now."""

    community_id: str
    title: str
    service_type: ServiceType
    kind: ScheduleKind
    starts_at: datetime | None
    ends_at: datetime
    request_id: str = ""
    place: str = ""
    capacity: int = 0
    occurrence_count: int = 1
    kiosk_ids: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    checklist_template: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class CloseActivity:
    """Stop accepting sign-ins to an activity."""

    community_id: str
    activity_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class SignIn:
    """Open a session for a resident at an activity: by their own code, or by staff."""

    community_id: str
    activity_id: str
    resident_id: str
    method: SignInMethod
    at: datetime | None = None
    request_id: str = ""
    actor: Principal = field(kw_only=True)
    code: str = ""


@dataclass(frozen=True)
class SignOut:
    """Close a resident's open session at an activity: by their own code, or by staff."""

    community_id: str
    activity_id: str
    resident_id: str
    method: SignInMethod
    at: datetime | None = None
    request_id: str = ""
    actor: Principal = field(kw_only=True)
    code: str = ""


@dataclass(frozen=True)
class FacePresence:
    """A kiosk saw someone sign in or out: the burst of frames and the liveness challenge."""

    community_id: str
    activity_id: str
    kiosk_id: str
    frames: tuple[bytes, ...]
    challenge: LivenessChallenge
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class EnterPaperSession:
    """A staff member enters a session signed on a paper sheet: its sign-in and sign-out."""

    community_id: str
    activity_id: str
    resident_id: str
    signed_in_at: datetime
    signed_out_at: datetime
    reason: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RecordServed:
    """A staff member records which residents a session served (who may rate it)."""

    community_id: str
    session_id: str
    resident_ids: tuple[str, ...]
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ConfirmSession:
    """A staff member confirms a session held for review."""

    community_id: str
    session_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class CorrectSession:
    """A staff member sets a session's counted duration, with a reason."""

    community_id: str
    session_id: str
    duration_seconds: int
    reason: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RecordChecklist:
    """Mark operating-checklist steps as done for a session."""

    community_id: str
    session_id: str
    steps: tuple[str, ...]
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ResolveFlag:
    """A staff member marks a flag as dealt with."""

    community_id: str
    flag_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RateSession:
    """A resident served (the actor) gives a session 1 to 5 stars."""

    community_id: str
    session_id: str
    stars: int
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ApplyProjectLead:
    """A volunteer (the actor) applies to lead a project."""

    community_id: str
    activity_id: str
    motivation: str = ""
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class ApproveProjectLead:
    """A staff member approves an application to lead."""

    community_id: str
    lead_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class AddRosterEntry:
    """Put a resident on the roster of one occurrence of an activity."""

    community_id: str
    activity_id: str
    occurrence_starts_at: datetime | None
    resident_id: str
    role: RosterRole
    request_id: str = ""
    actor: Principal = field(kw_only=True)


@dataclass(frozen=True)
class RemoveRosterEntry:
    """Take a resident off the roster of one occurrence of an activity."""

    community_id: str
    activity_id: str
    occurrence_starts_at: datetime | None
    resident_id: str
    request_id: str = ""
    actor: Principal = field(kw_only=True)
