"""A year of sessions and ratings in c-east stored as they would be, for the reports' tests.

Stored straight into a unit of work (the fakes or PostgreSQL), so both answer the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from linli_attendance.domain.activities import (
    Activity,
    Correction,
    Proof,
    ScheduleKind,
    ServiceType,
    Session,
    SessionStatus,
    SignInMethod,
    Window,
)
from linli_attendance.domain.ratings import Rating
from linli_attendance.service_layer.ports import AttendanceUnitOfWork

C = "c-east"
HOUR = timedelta(hours=1)
# 2025-03-31 17:30 UTC is 2025-04-01 01:30 in Asia/Shanghai: an April session.
APRIL_BY_LOCAL_TIME = datetime(2025, 3, 31, 17, 30, tzinfo=UTC)
MARCH = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _activity(activity_id: str, kind: ServiceType, title: str, community: str = C) -> Activity:
    return Activity(
        community_id=community,
        id=activity_id,
        title=title,
        service_type=kind,
        kind=ScheduleKind.EMERGENCY,
        starts_at=datetime(2024, 12, 1, tzinfo=UTC),
        ends_at=datetime(2026, 2, 1, tzinfo=UTC),
        created_at=datetime(2024, 12, 1, tzinfo=UTC),
    )


def _session(
    session_id: str,
    activity: Activity,
    resident: str,
    at: datetime,
    seconds: int,
    status: SessionStatus = SessionStatus.COMPLETED,
    corrections: list[Correction] | None = None,
) -> Session:
    out = None if status is SessionStatus.OPEN else at + timedelta(seconds=seconds)
    return Session(
        community_id=activity.community_id,
        activity_id=activity.id,
        id=session_id,
        resident_id=resident,
        sign_in_proof=Proof(SignInMethod.PAPER_SHEET, "r-staff"),
        signed_in_at=at,
        window=Window(activity.starts_at, activity.ends_at),
        status=status,
        signed_out_at=out,
        duration_seconds=0 if out is None else seconds,
        corrections=corrections or [],
        served=("r-elder",),
    )


def store(uow: AttendanceUnitOfWork) -> None:
    """Activities of each type, sessions of every status, and three ratings."""
    clean = _activity("a-clean", ServiceType.REGULAR, "楼道清扫")
    clinic = _activity("a-clinic", ServiceType.PROFESSIONAL, "社区义诊")
    flood = _activity("a-flood", ServiceType.HIGH_RISK, "防汛")
    course = _activity("a-course", ServiceType.TRAINING, "急救课")
    west = _activity("a-west", ServiceType.REGULAR, "west", community="c-west")
    fixed = Correction(7200, 3600, "r-staff", "signed out late", MARCH + 3 * HOUR)
    rows = [
        _session("s1", clean, "r-alice", MARCH, 7200),
        _session("s2", clean, "r-bob", MARCH + 24 * HOUR, 3600),
        _session("s3", clean, "r-alice", MARCH + 48 * HOUR, 1800),
        # Corrected from 2 h to 1 h: counts 1 h.
        _session("s4", clinic, "r-alice", MARCH, 3600, corrections=[fixed]),
        # Held for review: reported apart.
        _session("s5", clean, "r-carol", MARCH + 72 * HOUR, 5400, SessionStatus.PENDING_REVIEW),
        # Open: no duration, not counted.
        _session("s6", clean, "r-dan", MARCH + 96 * HOUR, 0, SessionStatus.OPEN),
        _session("s7", flood, "r-bob", APRIL_BY_LOCAL_TIME, 10800),
        # A course session: training's hours, not service.
        _session("s8", course, "r-alice", MARCH, 7200),
        # Another year, another community: not in c-east's 2025.
        _session("s9", clean, "r-alice", datetime(2024, 12, 31, 15, 0, tzinfo=UTC), 3600),
        _session("s10", west, "r-west", MARCH, 3600),
    ]
    ratings = [
        Rating(
            community_id=C, session_id="s1", rated_by="r-elder", stars=5, rated_at=MARCH + 3 * HOUR
        ),
        Rating(
            community_id=C, session_id="s2", rated_by="r-elder", stars=3, rated_at=MARCH + 26 * HOUR
        ),
        Rating(
            community_id=C, session_id="s4", rated_by="r-elder", stars=4, rated_at=MARCH + 4 * HOUR
        ),
        # Given in 2024 (local), not in 2025's list.
        Rating(
            community_id=C,
            session_id="s9",
            rated_by="r-elder",
            stars=1,
            rated_at=datetime(2024, 12, 31, 15, 30, tzinfo=UTC),
        ),
        Rating(community_id="c-west", session_id="s10", rated_by="r-w", stars=2, rated_at=MARCH),
    ]
    with uow:
        for activity in (clean, clinic, flood, course, west):
            uow.activities.add(activity)
        for session in rows:
            uow.sessions.add(session)
            if session.corrections:
                uow.sessions.save(session)
        for rating in ratings:
            uow.ratings.add(rating)
        uow.commit()
