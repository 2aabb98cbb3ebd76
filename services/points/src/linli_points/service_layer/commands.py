"""What the points use cases are asked to do: from events (event_id) or requests (request_id).

A request's command names its actor (the caller), so that a request id is one caller's: a
second caller reusing it is refused rather than handed the first caller's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linli_kit.principals import Principal
from linli_points.domain.ledger import RuleKind
from linli_points.domain.reservations import Sink
from linli_points.domain.rules import ServiceType


@dataclass(frozen=True)
class AwardForSession:
    """Award the hourly points for a completed session (from a SessionCompleted event)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    service_type: ServiceType
    duration_seconds: int
    # The session counts for the day and week of its sign-in, not of its sign-out.
    signed_in_at: datetime
    activity: str = ""


@dataclass(frozen=True)
class CorrectSession:
    """Reverse a session's awards and award its corrected duration (from SessionCorrected)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    activity: str
    service_type: ServiceType
    duration_seconds: int
    corrected_by: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class RateSession:
    """Apply the P3 coefficient of a rating to the session's award (from SessionRated)."""

    event_id: str
    community_id: str
    resident_id: str
    session: str
    stars: int
    occurred_at: datetime


@dataclass(frozen=True)
class AwardForActivity:
    """A fixed or hourly P5 award: mentoring, project leadership, training, emergency."""

    event_id: str
    community_id: str
    resident_id: str
    kind: RuleKind
    subject: str
    occurred_at: datetime
    duration_seconds: int = 0
    # The attendance session a training award pays for ('' for the other P5 rules).
    session: str = ""


@dataclass(frozen=True)
class CorrectTraining:
    """Reverse a course session's P5 training award and pay its corrected duration (from
    training's TrainingAttendanceCorrected); `occurred_at` is when the correction was made."""

    event_id: str
    community_id: str
    resident_id: str
    course: str
    session: str
    previous_duration_seconds: int
    duration_seconds: int
    occurred_at: datetime


@dataclass(frozen=True)
class RecordOrgUnit:
    """Remember a resident's grid and building (from ResidentRegistered, as of its time)."""

    event_id: str
    community_id: str
    resident_id: str
    org_unit: str
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RecordEmergency:
    """Remember that an activity answers an emergency (from EmergencyCalled)."""

    event_id: str
    community_id: str
    activity: str
    occurred_at: datetime


@dataclass(frozen=True)
class Reserve:
    """Hold points of a resident for a redemption or a time-bank transfer."""

    actor: Principal
    request_id: str
    community_id: str
    resident_id: str
    amount: int
    sink: Sink
    memo: str
    ttl_seconds: int


@dataclass(frozen=True)
class SettleReservation:
    """Commit or void a pending reservation."""

    actor: Principal
    request_id: str
    community_id: str
    reservation_id: str
    commit: bool
    reason: str = ""


@dataclass(frozen=True)
class RefundReservation:
    """Give a committed redemption's points back (its voucher cancelled or expired unused)."""

    actor: Principal
    request_id: str
    community_id: str
    reservation_id: str
    reason: str = ""


@dataclass(frozen=True)
class ClosePeriods:
    """Post the P2 bonuses of every week that has ended."""

    actor: Principal
    request_id: str
    community_id: str


@dataclass(frozen=True)
class CloseYear:
    """Expire the unspent yearly points of a policy year (P4)."""

    actor: Principal
    request_id: str
    community_id: str
    year: int


@dataclass(frozen=True)
class RebuildLeaderboard:
    """Recompute a year's boards from the ledger and swap them in (P7)."""

    actor: Principal
    request_id: str
    community_id: str
    year: int


@dataclass(frozen=True)
class FileAppeal:
    """A resident disputes a transaction (P8)."""

    actor: Principal
    request_id: str
    community_id: str
    resident_id: str
    transaction_id: str
    reason: str


@dataclass(frozen=True)
class DecideAppeal:
    """A committee member accepts (with a compensation) or rejects an appeal (P8)."""

    actor: Principal
    request_id: str
    community_id: str
    appeal_id: str
    accept: bool
    reason: str
    amount: int = 0


@dataclass(frozen=True)
class ChangeCommittee:
    """Identity granted or revoked a resident's committee_member role (RoleGranted/Revoked)."""

    event_id: str
    community_id: str
    resident_id: str
    member: bool
    occurred_at: datetime
