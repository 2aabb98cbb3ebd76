"""Activities and the sessions that measure a volunteer's service (A1-A3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import FailedPrecondition, InvalidArgument

# A volunteer may sign in this long before the activity starts; time before the start never counts.
EARLY_SIGN_IN = timedelta(minutes=30)
# Clocks of kiosks and staff phones drift; a time further ahead than this is refused.
CLOCK_SKEW = timedelta(minutes=2)
MAX_TITLE = 100


class ServiceType(StrEnum):
    """The kind of service rendered (P1)."""

    REGULAR = "regular"
    PROFESSIONAL = "professional"
    HIGH_RISK = "high_risk"


class ActivityKind(StrEnum):
    """How often an activity runs (A3)."""

    ROUTINE = "routine"
    PERIODIC = "periodic"
    EMERGENCY = "emergency"


class SignInMethod(StrEnum):
    """How a sign-in or sign-out was made."""

    STAFF_CONFIRMED = "staff_confirmed"


class AlreadySignedIn(FailedPrecondition):
    """The resident has an open session at this activity."""


class NotSignedIn(FailedPrecondition):
    """The resident has no open session at this activity."""


class OutsideWindow(FailedPrecondition):
    """The time falls outside the activity's sign-in window."""


@dataclass(frozen=True, kw_only=True)
class SessionCompleted(DomainEvent):
    """A volunteer signed out; the counted duration is final."""

    activity_id: str
    session_id: str
    resident_id: str
    service_type: ServiceType
    signed_in_at: datetime
    signed_out_at: datetime
    duration_seconds: int


@dataclass(kw_only=True, eq=False)
class Activity(Aggregate):
    """A service activity with a time window volunteers sign in to."""

    community_id: str
    id: str
    title: str
    service_type: ServiceType
    kind: ActivityKind
    starts_at: datetime
    ends_at: datetime
    created_at: datetime

    @classmethod
    def plan(
        cls,
        community_id: str,
        title: str,
        service_type: ServiceType,
        kind: ActivityKind,
        starts_at: datetime,
        ends_at: datetime,
        at: datetime,
    ) -> Activity:
        """A new activity; the window must be non-empty and the title present."""
        title = (title or "").strip()
        if not title:
            raise InvalidArgument("activity.title is required")
        if len(title) > MAX_TITLE:
            raise InvalidArgument(f"activity.title is longer than {MAX_TITLE} characters")
        if ends_at <= starts_at:
            raise InvalidArgument("activity.end_time must be after activity.start_time")
        return cls(
            community_id=community_id,
            id=f"a{uuid.uuid4().hex}",
            title=title,
            service_type=service_type,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=at,
        )

    def sign_in(
        self,
        resident_id: str,
        open_session: Session | None,
        method: SignInMethod,
        confirmed_by: str,
        at: datetime,
        now: datetime,
    ) -> Session:
        """Open a session for the resident, or refuse with the reason."""
        _not_in_future(at, now)
        if open_session is not None:
            raise AlreadySignedIn("the resident is already signed in to this activity")
        if not self.starts_at - EARLY_SIGN_IN <= at <= self.ends_at:
            raise OutsideWindow(
                f"sign-in is open from {(self.starts_at - EARLY_SIGN_IN).isoformat()} "
                f"to {self.ends_at.isoformat()}"
            )
        return Session(
            community_id=self.community_id,
            activity_id=self.id,
            id=f"s{uuid.uuid4().hex}",
            resident_id=resident_id,
            method=method,
            confirmed_by=confirmed_by,
            signed_in_at=at,
        )

    def counted_seconds(self, signed_in_at: datetime, signed_out_at: datetime) -> int:
        """Service time inside the activity's window, in whole seconds."""
        start, end = max(signed_in_at, self.starts_at), min(signed_out_at, self.ends_at)
        return max(0, int((end - start).total_seconds()))


@dataclass(kw_only=True, eq=False)
class Session(Aggregate):
    """One volunteer's presence at one activity, open until signed out."""

    community_id: str
    activity_id: str
    id: str
    resident_id: str
    method: SignInMethod
    confirmed_by: str
    signed_in_at: datetime
    signed_out_at: datetime | None = None
    duration_seconds: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    def sign_out(self, activity: Activity, at: datetime, now: datetime) -> None:
        """Close the session, fix its counted duration and announce it."""
        _not_in_future(at, now)
        if self.signed_out_at is not None:
            raise NotSignedIn("this session is already closed")
        if at < self.signed_in_at:
            raise FailedPrecondition(
                f"sign-out at {at.isoformat()} is before the sign-in at "
                f"{self.signed_in_at.isoformat()}"
            )
        self.signed_out_at = at
        self.duration_seconds = activity.counted_seconds(self.signed_in_at, at)
        self.events.append(
            SessionCompleted(
                community_id=self.community_id,
                occurred_at=at,
                activity_id=self.activity_id,
                session_id=self.id,
                resident_id=self.resident_id,
                service_type=activity.service_type,
                signed_in_at=self.signed_in_at,
                signed_out_at=at,
                duration_seconds=self.duration_seconds,
            )
        )


def _not_in_future(at: datetime, now: datetime) -> None:
    if at > now + CLOCK_SKEW:
        raise InvalidArgument("time must not be in the future")
