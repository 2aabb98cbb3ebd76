"""What staff are asked to review: flags raised by the anti-fraud and duration rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from linli_kit.errors import DomainError, FailedPrecondition, PermissionDenied


class FlagKind(StrEnum):
    """Why a session or an attempt needs a staff member's eyes."""

    TWO_SITES = "two_sites"
    TOO_MANY_SESSIONS = "too_many_sessions"
    SELF_CONFIRMATION = "self_confirmation"
    FORGOTTEN_SIGN_OUT = "forgotten_sign_out"
    TIME_CAP = "time_cap"
    FACE_UNCERTAIN = "face_uncertain"
    FACE_REENROLMENT = "face_reenrolment"


@dataclass(frozen=True)
class Concern:
    """A reason to flag, before it is tied to a resident and a session."""

    kind: FlagKind
    reason: str


@dataclass(frozen=True)
class Attempt:
    """Who tried to do what, where and when: what a flag about a refusal is tied to."""

    community_id: str
    resident_id: str
    activity_id: str
    at: datetime
    session_id: str = ""


class Suspicious(DomainError):
    """A refusal that is also recorded as a flag for staff to see."""

    kind: FlagKind

    def __init__(self, reason: str, attempt: Attempt) -> None:
        super().__init__(reason)
        self.attempt = attempt

    def flag(self) -> Flag:
        """The open flag that records this refusal."""
        a = self.attempt
        concern = Concern(self.kind, str(self))
        return Flag.raise_(
            a.community_id, concern, a.resident_id, a.activity_id, a.session_id, a.at
        )


class TwoSitesAtOnce(Suspicious, FailedPrecondition):
    """The resident would be at two sites at the same time."""

    kind = FlagKind.TWO_SITES


class TooManySessions(Suspicious, FailedPrecondition):
    """The resident has signed in more often today than anyone plausibly serves."""

    kind = FlagKind.TOO_MANY_SESSIONS


class SelfConfirmation(Suspicious, PermissionDenied):
    """A staff member tried to confirm or correct their own hours."""

    kind = FlagKind.SELF_CONFIRMATION


@dataclass(kw_only=True)
class Flag:
    """A concern about a resident's attendance, open until a staff member resolves it."""

    community_id: str
    id: str
    kind: FlagKind
    reason: str
    resident_id: str
    activity_id: str
    session_id: str
    raised_at: datetime
    resolved_by: str = ""
    resolved_at: datetime | None = None

    @classmethod
    def raise_(
        cls,
        community_id: str,
        concern: Concern,
        resident_id: str,
        activity_id: str,
        session_id: str,
        at: datetime,
    ) -> Flag:
        """A new open flag."""
        return cls(
            community_id=community_id,
            id=f"f{uuid.uuid4().hex}",
            kind=concern.kind,
            reason=concern.reason,
            resident_id=resident_id,
            activity_id=activity_id,
            session_id=session_id,
            raised_at=at,
        )

    def resolve(self, staff_id: str, at: datetime) -> None:
        """Mark the flag as dealt with; nobody resolves a flag about themself."""
        if staff_id == self.resident_id:
            raise PermissionDenied("nobody resolves a flag about themself")
        if self.resolved_at is not None:
            raise FailedPrecondition("the flag is already resolved")
        self.resolved_by, self.resolved_at = staff_id, at
