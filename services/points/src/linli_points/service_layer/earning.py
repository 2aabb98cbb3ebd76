"""Earning use cases, once per event: sessions, corrections, ratings, P5 awards, read models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linli_kit.usecases import once_per_event
from linli_points.domain import earning
from linli_points.domain.closing import live_awards
from linli_points.domain.ledger import LedgerTransaction
from linli_points.domain.rules import DEFAULT_CATALOG, RuleCatalog
from linli_points.service_layer.commands import (
    AwardForActivity,
    AwardForSession,
    CorrectSession,
    CorrectTraining,
    RateSession,
    RecordEmergency,
    RecordOrgUnit,
)
from linli_points.service_layer.ports import PointsUnitOfWork

SESSION_CONSUMER = "points.session-completed"
CORRECTION_CONSUMER = "points.session-corrected"
RATING_CONSUMER = "points.session-rated"
ACTIVITY_CONSUMER = "points.activity-award"
ORG_UNIT_CONSUMER = "points.resident-registered"
EMERGENCY_CONSUMER = "points.emergency-called"
TRAINING_CORRECTION_CONSUMER = "points.training-corrected"
# The kinds of correction whose latest applied time is kept per session.
SESSION_CORRECTION = "session"
TRAINING_CORRECTION = "training"


@dataclass(frozen=True)
class Placement:
    """Where a resident lives now, and where points had them before ('' if nowhere)."""

    org_unit: str
    former: str


def _same_day(uow: PointsUnitOfWork, served: earning.ServedSession) -> earning.SameDay:
    start, end = served.day
    return lambda: uow.ledger.find(
        served.community_id, resident_id=served.resident_id, since=start, until=end
    )


def _session_live(
    uow: PointsUnitOfWork, community_id: str, session: str
) -> list[LedgerTransaction]:
    return live_awards(uow.ledger.find(community_id, session=session))


def _served(cmd: AwardForSession | CorrectSession, signed_in_at: datetime) -> earning.ServedSession:
    return earning.ServedSession(
        community_id=cmd.community_id,
        resident_id=cmd.resident_id,
        session=cmd.session,
        service_type=cmd.service_type,
        duration_seconds=cmd.duration_seconds,
        signed_in_at=signed_in_at,
        source_id=cmd.event_id,
        activity=cmd.activity,
    )


def _corrected(uow: PointsUnitOfWork, community_id: str, session: str) -> bool:
    return uow.directory.corrected_at(community_id, TRAINING_CORRECTION, session) is not None


def _newest_correction(
    uow: PointsUnitOfWork, kind: str, community_id: str, session: str, at: datetime
) -> bool:
    """Record a correction of a session as the latest applied if it is newer than that one."""
    latest = uow.directory.corrected_at(community_id, kind, session)
    if latest is not None and latest >= at:
        return False
    uow.directory.set_corrected_at(community_id, kind, session, at)
    return True


def _post(uow: PointsUnitOfWork, transactions: list[LedgerTransaction]) -> None:
    for transaction in transactions:
        uow.ledger.post(transaction)


@once_per_event(SESSION_CONSUMER)
def award_for_session(
    cmd: AwardForSession, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> LedgerTransaction | None:
    """Credit hours × rate (and an emergency bonus); a redelivered event changes nothing."""
    served = _served(cmd, cmd.signed_in_at)
    emergency = bool(cmd.activity) and uow.directory.is_emergency(cmd.community_id, cmd.activity)
    awards = earning.session_awards(
        catalog.for_community(cmd.community_id),
        served,
        same_day=_same_day(uow, served),
        emergency=emergency,
    )
    _post(uow, awards)
    return awards[0] if awards else None


@once_per_event(CORRECTION_CONSUMER)
def correct_session(
    cmd: CorrectSession, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> list[LedgerTransaction]:
    """Award the corrected duration, then reverse the session's hourly and rating awards;
    a correction no newer than the latest applied to the session changes nothing."""
    if not _newest_correction(
        uow, SESSION_CORRECTION, cmd.community_id, cmd.session, cmd.occurred_at
    ):
        return []
    live = _session_live(uow, cmd.community_id, cmd.session)
    served = _served(cmd, earning.sign_in_of(live, otherwise=cmd.occurred_at))
    posted = earning.correction(
        catalog.for_community(cmd.community_id),
        served,
        session_live=live,
        same_day=_same_day(uow, served),
        corrected_by=cmd.corrected_by,
        reason=cmd.reason,
        at=cmd.occurred_at,
    )
    _post(uow, posted)
    return posted


@once_per_event(RATING_CONSUMER)
def rate_session(
    cmd: RateSession, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> LedgerTransaction | None:
    """Scale a session's award by its rating, once per session, as a separate transaction."""
    transaction = earning.rating_award(
        catalog.for_community(cmd.community_id),
        stars=cmd.stars,
        resident_id=cmd.resident_id,
        session_live=_session_live(uow, cmd.community_id, cmd.session),
        source_id=cmd.event_id,
        at=cmd.occurred_at,
    )
    _post(uow, [] if transaction is None else [transaction])
    return transaction


@once_per_event(ACTIVITY_CONSUMER)
def award_for_activity(
    cmd: AwardForActivity, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> LedgerTransaction | None:
    """Credit a P5 rule (fixed amount, or per hour for training) once per event."""
    if cmd.session and _corrected(uow, cmd.community_id, cmd.session):
        return None  # a correction of the session came first and paid what counts
    transaction = earning.activity_award(
        catalog.for_community(cmd.community_id),
        cmd.kind,
        community_id=cmd.community_id,
        resident_id=cmd.resident_id,
        subject=cmd.subject,
        source_id=cmd.event_id,
        at=cmd.occurred_at,
        duration_seconds=cmd.duration_seconds,
        session=cmd.session,
    )
    _post(uow, [] if transaction is None else [transaction])
    return transaction


@once_per_event(TRAINING_CORRECTION_CONSUMER)
def correct_training(
    cmd: CorrectTraining, uow: PointsUnitOfWork, catalog: RuleCatalog = DEFAULT_CATALOG
) -> list[LedgerTransaction]:
    """Pay a course session's corrected duration, then reverse its earlier P5 training award;
    a correction older than the latest applied to the session changes nothing."""
    if not _newest_correction(
        uow, TRAINING_CORRECTION, cmd.community_id, cmd.session, cmd.occurred_at
    ):
        return []
    posted = earning.training_correction(
        catalog.for_community(cmd.community_id),
        session_transactions=uow.ledger.find(cmd.community_id, session=cmd.session),
        community_id=cmd.community_id,
        resident_id=cmd.resident_id,
        course=cmd.course,
        session=cmd.session,
        previous_seconds=cmd.previous_duration_seconds,
        seconds=cmd.duration_seconds,
        source_id=cmd.event_id,
        at=cmd.occurred_at,
    )
    _post(uow, posted)
    return posted


@once_per_event(ORG_UNIT_CONSUMER)
def record_org_unit(cmd: RecordOrgUnit, uow: PointsUnitOfWork) -> Placement:
    """Remember a resident's grid and building for the leaderboards; a placement no newer than
    the one points has changes nothing."""
    former = uow.directory.org_unit(cmd.community_id, cmd.resident_id)
    placed = uow.directory.placed_at(cmd.community_id, cmd.resident_id)
    if cmd.occurred_at is not None and placed is not None and placed >= cmd.occurred_at:
        return Placement(former, former)
    uow.directory.set_org_unit(cmd.community_id, cmd.resident_id, cmd.org_unit, cmd.occurred_at)
    return Placement(cmd.org_unit, former)


@once_per_event(EMERGENCY_CONSUMER)
def record_emergency(cmd: RecordEmergency, uow: PointsUnitOfWork) -> None:
    """Remember that an activity answers an emergency, so its sessions earn the P5 bonus."""
    uow.directory.mark_emergency(cmd.community_id, cmd.activity, cmd.occurred_at)


def org_unit_of(community_id: str, resident_id: str, uow: PointsUnitOfWork) -> str:
    """A resident's org unit ('' if identity never told us)."""
    with uow:
        return uow.directory.org_unit(community_id, resident_id)
