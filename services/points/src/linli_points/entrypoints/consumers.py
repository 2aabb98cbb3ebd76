"""Stream consumers: turn events from other services (and our own) into points commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from typing import TypeVar

from linli.common.v1 import service_type_pb2
from linli.events.v1 import (
    attendance_events_pb2,
    envelope_pb2,
    identity_events_pb2,
    points_events_pb2,
    training_events_pb2,
)

from linli_kit import metrics
from linli_kit.domain import Clock, utc_now
from linli_kit.principals import Role
from linli_kit.streams import EnvelopeHandler, PoisonEvent, queues_in_order
from linli_points.domain.ledger import RuleKind
from linli_points.domain.periods import policy_year
from linli_points.domain.rules import RuleCatalog, ServiceType
from linli_points.names import RESIDENT
from linli_points.service_layer import appeals, commands, earning
from linli_points.service_layer.ports import Leaderboards, PointsUnitOfWork
from linli_points.service_layer.writer import CommunityWriter

R = TypeVar("R")

SERVICE_TYPES = {
    service_type_pb2.SERVICE_TYPE_REGULAR: ServiceType.REGULAR,
    service_type_pb2.SERVICE_TYPE_PROFESSIONAL: ServiceType.PROFESSIONAL,
    service_type_pb2.SERVICE_TYPE_HIGH_RISK: ServiceType.HIGH_RISK,
    service_type_pb2.SERVICE_TYPE_TRAINING: ServiceType.TRAINING,
}


def _resident(name: str, envelope: envelope_pb2.EventEnvelope) -> str:
    """The resident id of a name that must belong to the envelope's community."""
    ids = RESIDENT.parse(name)
    if ids["community"] != envelope.community_id:
        raise PoisonEvent(f"{name} is not in {envelope.community_id}")
    return ids["resident"]


def _service_type(value: int) -> ServiceType:
    if value not in SERVICE_TYPES:
        raise PoisonEvent(f"unknown service type {value}")
    return SERVICE_TYPES[value]


def _name(message_type: type) -> str:
    return str(message_type.DESCRIPTOR.full_name)  # type: ignore[attr-defined]


class AttendanceEvents:
    """Handlers for attendance.events, by payload type, run by each community's writer.

    Each hands its work to the writer before its first pause, so the consumer starts a read's
    handlers together (`queues_in_order`) and the writer commits them as one batch, in order.
    """

    def __init__(self, writer: CommunityWriter, catalog: RuleCatalog) -> None:
        self.writer, self.catalog = writer, catalog

    async def _write(self, community_id: str, work: Callable[[PointsUnitOfWork], R]) -> R:
        return await asyncio.wrap_future(self.writer.submit(community_id, work))

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            _name(attendance_events_pb2.SessionCompleted): self.session_completed,
            _name(attendance_events_pb2.SessionCorrected): self.session_corrected,
            _name(attendance_events_pb2.SessionRated): self.session_rated,
            _name(attendance_events_pb2.EmergencyCalled): self.emergency_called,
            _name(attendance_events_pb2.ProjectLeadPromoted): self.project_lead_promoted,
        }

    @queues_in_order
    async def session_completed(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Award the hourly points for a completed session."""
        event = attendance_events_pb2.SessionCompleted()
        envelope.payload.Unpack(event)
        if not event.HasField("signed_in_at"):
            raise PoisonEvent("a completed session needs its sign-in time")
        command = commands.AwardForSession(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(event.resident, envelope),
            session=event.session,
            service_type=_service_type(event.service_type),
            duration_seconds=event.duration_seconds,
            signed_in_at=event.signed_in_at.ToDatetime(tzinfo=UTC),
            activity=event.activity,
        )
        transaction = await self._write(
            command.community_id, lambda uow: earning.award_for_session(command, uow, self.catalog)
        )
        if transaction is not None:
            metrics.POINTS_AWARDS.labels(command.community_id, transaction.rule_id).inc()

    @queues_in_order
    async def session_corrected(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Reverse a session's awards and award the corrected duration."""
        event = attendance_events_pb2.SessionCorrected()
        envelope.payload.Unpack(event)
        command = commands.CorrectSession(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(event.resident, envelope),
            session=event.session,
            activity=event.activity,
            service_type=_service_type(event.service_type),
            duration_seconds=event.duration_seconds,
            corrected_by=_resident(event.corrected_by, envelope),
            reason=event.reason,
            occurred_at=event.corrected_at.ToDatetime(tzinfo=UTC),
        )
        await self._write(
            command.community_id, lambda uow: earning.correct_session(command, uow, self.catalog)
        )

    @queues_in_order
    async def session_rated(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Apply the rating coefficient to the session's award."""
        event = attendance_events_pb2.SessionRated()
        envelope.payload.Unpack(event)
        if not 1 <= event.stars <= 5:
            raise PoisonEvent(f"a rating has 1 to 5 stars, not {event.stars}")
        command = commands.RateSession(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(event.resident, envelope),
            session=event.session,
            stars=event.stars,
            occurred_at=event.rated_at.ToDatetime(tzinfo=UTC),
        )
        transaction = await self._write(
            command.community_id, lambda uow: earning.rate_session(command, uow, self.catalog)
        )
        if transaction is not None:
            metrics.POINTS_AWARDS.labels(command.community_id, transaction.rule_id).inc()

    @queues_in_order
    async def emergency_called(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Remember the emergency activity so that its sessions earn the P5 bonus."""
        event = attendance_events_pb2.EmergencyCalled()
        envelope.payload.Unpack(event)
        command = commands.RecordEmergency(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            activity=event.activity,
            occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )
        await self._write(command.community_id, lambda uow: earning.record_emergency(command, uow))

    @queues_in_order
    async def project_lead_promoted(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Award the P5 project-leadership rule."""
        event = attendance_events_pb2.ProjectLeadPromoted()
        envelope.payload.Unpack(event)
        command = commands.AwardForActivity(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(event.resident, envelope),
            kind=RuleKind.PROJECT_LEAD,
            subject=f"led {event.activity} for {event.successful_runs} successful runs",
            occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )
        await self._write(
            command.community_id, lambda uow: earning.award_for_activity(command, uow, self.catalog)
        )


class TrainingEvents:
    """Handlers for training.events: the P5 training rules, run by each community's writer.

    A course hour reaches points only from here: attendance's SessionCompleted of a training
    activity earns no P1 (`domain.earning`), so an hour is paid once, by P5.
    """

    def __init__(self, writer: CommunityWriter, catalog: RuleCatalog) -> None:
        self.writer, self.catalog = writer, catalog

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            _name(training_events_pb2.TrainingAttended): self.training_attended,
            _name(training_events_pb2.TrainingAttendanceCorrected): self.attendance_corrected,
            _name(training_events_pb2.LevelPromoted): self.level_promoted,
        }

    async def _award(self, command: commands.AwardForActivity) -> None:
        transaction = await asyncio.wrap_future(
            self.writer.submit(
                command.community_id,
                lambda uow: earning.award_for_activity(command, uow, self.catalog),
            )
        )
        if transaction is not None:
            metrics.POINTS_AWARDS.labels(command.community_id, transaction.rule_id).inc()

    @queues_in_order
    async def training_attended(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Pay the hours of a course session with the P5 training rule."""
        event = training_events_pb2.TrainingAttended()
        envelope.payload.Unpack(event)
        if not 0 < event.duration_seconds <= 86_400:
            raise PoisonEvent(f"a course session lasts 1 s to a day, not {event.duration_seconds}")
        await self._award(
            commands.AwardForActivity(
                event_id=envelope.event_id,
                community_id=envelope.community_id,
                resident_id=_resident(event.resident, envelope),
                kind=RuleKind.TRAINING,
                subject=f"attended {event.course} in {event.session}",
                occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
                duration_seconds=event.duration_seconds,
                session=event.session,
            )
        )

    @queues_in_order
    async def attendance_corrected(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Reverse a course session's P5 training award and pay its corrected duration, in the
        order training made the corrections (the envelope's time is the correction's)."""
        event = training_events_pb2.TrainingAttendanceCorrected()
        envelope.payload.Unpack(event)
        for seconds in (event.previous_duration_seconds, event.duration_seconds):
            if not 0 <= seconds <= 86_400:
                raise PoisonEvent(f"a course session lasts 0 s to a day, not {seconds}")
        if not event.session or not envelope.HasField("occurred_at"):
            raise PoisonEvent("a training correction needs its session and its time")
        command = commands.CorrectTraining(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(event.resident, envelope),
            course=event.course,
            session=event.session,
            previous_duration_seconds=event.previous_duration_seconds,
            duration_seconds=event.duration_seconds,
            occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )
        await asyncio.wrap_future(
            self.writer.submit(
                command.community_id,
                lambda uow: earning.correct_training(command, uow, self.catalog),
            )
        )

    @queues_in_order
    async def level_promoted(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Reward a promotion to a volunteer level with the P5 training-level rule."""
        event = training_events_pb2.LevelPromoted()
        envelope.payload.Unpack(event)
        await self._award(
            commands.AwardForActivity(
                event_id=envelope.event_id,
                community_id=envelope.community_id,
                resident_id=_resident(event.resident, envelope),
                kind=RuleKind.TRAINING_LEVEL,
                subject=f"promoted to {event.level_title} ({event.level})",
                occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
            )
        )


class IdentityEvents:
    """Handlers for identity.events: where residents live and their names, for the boards;
    who sits on the supervision committee (identity's committee_member grants, nobody else's)."""

    def __init__(
        self,
        uow_factory: Callable[[], PointsUnitOfWork],
        boards: Leaderboards,
        clock: Clock = utc_now,
    ) -> None:
        self.uow_factory, self.boards, self.clock = uow_factory, boards, clock

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            _name(identity_events_pb2.ResidentRegistered): self.resident_registered,
            _name(identity_events_pb2.RoleGranted): self.role_granted,
            _name(identity_events_pb2.RoleRevoked): self.role_revoked,
        }

    async def resident_registered(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Record the resident's org unit and display name, and move this year's score to the
        grid and building boards of that org unit (also on a redelivery: idempotent)."""
        event = identity_events_pb2.ResidentRegistered()
        envelope.payload.Unpack(event)
        command = commands.RecordOrgUnit(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(event.resident, envelope),
            org_unit=event.org_unit,
            occurred_at=(
                envelope.occurred_at.ToDatetime(tzinfo=UTC)
                if envelope.HasField("occurred_at")
                else None
            ),
        )
        placement = await asyncio.to_thread(earning.record_org_unit, command, self.uow_factory())
        if placement is None:  # a redelivery: the boards follow what points has
            org_unit = await asyncio.to_thread(
                earning.org_unit_of, command.community_id, command.resident_id, self.uow_factory()
            )
            placement = earning.Placement(org_unit, org_unit)
        await self.boards.place(
            command.community_id,
            policy_year(self.clock()),
            command.resident_id,
            placement.org_unit,
            [placement.former],
        )
        await self.boards.remember_name(
            command.community_id, command.resident_id, event.display_name
        )

    async def _committee(
        self, envelope: envelope_pb2.EventEnvelope, resident: str, member: bool
    ) -> None:
        command = commands.ChangeCommittee(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(resident, envelope),
            member=member,
            occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )
        await asyncio.to_thread(appeals.change_committee, command, self.uow_factory())

    async def role_granted(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """A committee_member grant seats the resident on the committee; other roles pass by."""
        event = identity_events_pb2.RoleGranted()
        envelope.payload.Unpack(event)
        if event.role == Role.COMMITTEE_MEMBER:
            await self._committee(envelope, event.resident, member=True)

    async def role_revoked(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """A committee_member revocation unseats the resident; other roles pass by."""
        event = identity_events_pb2.RoleRevoked()
        envelope.payload.Unpack(event)
        if event.role == Role.COMMITTEE_MEMBER:
            await self._committee(envelope, event.resident, member=False)


class LeaderboardProjector:
    """Handlers for our own points.events: keep the Redis boards current."""

    def __init__(self, uow_factory: Callable[[], PointsUnitOfWork], boards: Leaderboards) -> None:
        self.uow_factory, self.boards = uow_factory, boards

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            _name(points_events_pb2.PointsAwarded): self.awarded,
            _name(points_events_pb2.AwardReversed): self.reversed,
        }

    async def _apply(self, envelope: envelope_pb2.EventEnvelope, resident: str, delta: int) -> None:
        resident_id = _resident(resident, envelope)
        # The boards' own placement is what `apply` settles on anyway; the directory is asked
        # only about a resident the boards have not placed (a rebuild places nobody).
        org_unit = await self.boards.placement(envelope.community_id, resident_id)
        if org_unit is None:
            org_unit = await asyncio.to_thread(
                earning.org_unit_of, envelope.community_id, resident_id, self.uow_factory()
            )
        await self.boards.apply(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            year=policy_year(envelope.occurred_at.ToDatetime(tzinfo=UTC)),
            resident_id=resident_id,
            org_unit=org_unit,
            delta=delta,
        )

    async def awarded(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Raise the resident's score."""
        event = points_events_pb2.PointsAwarded()
        envelope.payload.Unpack(event)
        await self._apply(envelope, event.resident, event.amount_centipoints)

    async def reversed(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Lower the resident's score."""
        event = points_events_pb2.AwardReversed()
        envelope.payload.Unpack(event)
        await self._apply(envelope, event.resident, -event.amount_centipoints)
