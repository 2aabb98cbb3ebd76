"""Residents rate the service they received (A5); points turns stars into the P3 coefficient.

Rules: 1 to 5 stars; only a completed session (signed out, or confirmed by staff) can be
rated, within RATING_WINDOW of its completion; one rating per resident and session; the
volunteer cannot rate their own session, nor can a volunteer who served at the same
occurrence (they were serving, not served).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from linli_attendance.domain.activities import Session, SessionStatus
from linli_kit.domain import Aggregate, DomainEvent
from linli_kit.errors import FailedPrecondition, InvalidArgument, PermissionDenied

RATING_WINDOW = timedelta(hours=72)


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
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def give(
        cls, session: Session, rated_by: str, stars: int, at: datetime, co_volunteers: set[str]
    ) -> Rating:
        """A rating of the session, or the reason it cannot be given."""
        if not 1 <= stars <= 5:
            raise InvalidArgument("stars must be 1 to 5")
        if rated_by == session.resident_id:
            raise PermissionDenied("a volunteer cannot rate their own session")
        if rated_by in co_volunteers:
            raise PermissionDenied("a volunteer at the same activity was not served by it")
        if session.status is not SessionStatus.COMPLETED or session.completed_at is None:
            raise FailedPrecondition("only a completed session can be rated")
        if at > session.completed_at + RATING_WINDOW:
            raise FailedPrecondition(
                f"ratings close {RATING_WINDOW.total_seconds() / 3600:g} h after the session "
                "is completed"
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
