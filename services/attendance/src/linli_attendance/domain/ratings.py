"""Residents rate the service they received (A5); points turns stars into the P3 coefficient.

Rules: 1 to 5 stars; only a completed session (signed out, or confirmed by staff) can be
rated, and only by a resident it served (recorded on the session by staff), within the
community's rating window (Limits.rating_window) from the session's end (its sign-out); one
rating per resident and session; the volunteer cannot rate their own session, nor can a
volunteer who served at the same occurrence (they were serving, not served).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linli_attendance.domain.activities import Session, SessionStatus
from linli_attendance.domain.limits import POLICY_LIMITS, Limits
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied


class NotServed(PermissionDenied):
    """The rater is not among the residents the session served."""


@dataclass(frozen=True, kw_only=True)
class SessionRated(DomainEvent):
    """A resident served rated a session."""

    activity_id: str
    session_id: str
    resident_id: str
    rated_by: str
    stars: int


@dataclass(kw_only=True, eq=False)
class Rating(Aggregate):
    """One resident's stars for one session."""

    community_id: str
    session_id: str
    rated_by: str
    stars: int
    rated_at: datetime

    @property
    def id(self) -> str:
        """The rating's id within its session: the rater's resident id."""
        return self.rated_by

    @classmethod
    def give(
        cls,
        session: Session,
        rated_by: str,
        stars: int,
        at: datetime,
        co_volunteers: set[str],
        limits: Limits = POLICY_LIMITS,
    ) -> Rating:
        """A rating of the session, or the reason it cannot be given."""
        if not 1 <= stars <= 5:
            raise InvalidArgument("stars must be 1 to 5")
        if rated_by == session.resident_id:
            raise PermissionDenied("a volunteer cannot rate their own session")
        if rated_by in co_volunteers:
            raise PermissionDenied("a volunteer at the same activity was not served by it")
        if session.status is not SessionStatus.COMPLETED or session.signed_out_at is None:
            raise FailedPrecondition("only a completed session can be rated")
        if rated_by not in session.served:
            raise NotServed("only a resident this session served can rate it")
        if at > session.signed_out_at + limits.rating_window:
            raise FailedPrecondition(
                f"ratings close {limits.rating_window.total_seconds() / 3600:g} h after the "
                "session ends"
            )
        rating = cls(
            community_id=session.community_id,
            session_id=session.id,
            rated_by=rated_by,
            stars=stars,
            rated_at=at,
        )
        rating.events.append(
            SessionRated(
                community_id=session.community_id,
                occurred_at=at,
                activity_id=session.activity_id,
                session_id=session.id,
                resident_id=session.resident_id,
                rated_by=rated_by,
                stars=stars,
            )
        )
        return rating
