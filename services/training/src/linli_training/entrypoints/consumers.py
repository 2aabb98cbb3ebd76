"""Stream consumers: attendance's completed sessions and identity's role changes, as commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC

from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2, envelope_pb2, identity_events_pb2

from linli_kit import metrics
from linli_kit.principals import Role
from linli_kit.streams import EnvelopeHandler, PoisonEvent
from linli_training.domain.names import ACTIVITY, RESIDENT
from linli_training.service_layer import commands, progress
from linli_training.service_layer.ports import TrainingUnitOfWork


def _resident(name: str, envelope: envelope_pb2.EventEnvelope) -> str:
    """The resident id of a name that must belong to the envelope's community."""
    ids = RESIDENT.parse(name)
    if ids["community"] != envelope.community_id:
        raise PoisonEvent(f"{name} is not in {envelope.community_id}")
    return ids["resident"]


def _name(message_type: type) -> str:
    return str(message_type.DESCRIPTOR.full_name)  # type: ignore[attr-defined]


class AttendanceEvents:
    """Handlers for attendance.events: completed and corrected sessions of course sessions."""

    def __init__(self, uow_factory: Callable[[], TrainingUnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            _name(attendance_events_pb2.SessionCompleted): self.session_completed,
            _name(attendance_events_pb2.SessionCorrected): self.session_corrected,
        }

    @staticmethod
    def _activity(name: str, envelope: envelope_pb2.EventEnvelope) -> str:
        """The activity id of a name that must belong to the envelope's community."""
        activity = ACTIVITY.parse(name)
        if activity["community"] != envelope.community_id:
            raise PoisonEvent(f"{name} is not in {envelope.community_id}")
        return activity["activity"]

    @staticmethod
    def _count(community: str, credit: progress.Credit | None) -> None:
        """Count what a credit or correction did."""
        if credit is None or credit.outcome == progress.NOT_TRAINING:
            return
        metrics.TRAINING_ATTENDANCE_CREDITED.labels(community, credit.outcome).inc()
        for course_id in credit.completed:
            metrics.TRAINING_COURSES_COMPLETED.labels(community, course_id).inc()
        for level_id in credit.promoted:
            metrics.TRAINING_PROMOTIONS.labels(community, level_id).inc()

    async def session_completed(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Credit a course session's attended time to an enrolled resident, once."""
        event = attendance_events_pb2.SessionCompleted()
        envelope.payload.Unpack(event)
        command = commands.CreditAttendance(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            activity_id=self._activity(event.activity, envelope),
            session=event.session,
            resident_id=_resident(event.resident, envelope),
            training=event.service_type == service_type_pb2.SERVICE_TYPE_TRAINING,
            duration_seconds=event.duration_seconds,
            occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
        )
        credit = await asyncio.to_thread(progress.credit_attendance, command, self.uow_factory())
        self._count(command.community_id, credit)

    async def session_corrected(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Follow a correction (or voiding) of a course session's attendance, in order, once."""
        event = attendance_events_pb2.SessionCorrected()
        envelope.payload.Unpack(event)
        at = event.corrected_at if event.HasField("corrected_at") else envelope.occurred_at
        command = commands.CorrectAttendance(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            activity_id=self._activity(event.activity, envelope),
            session=event.session,
            resident_id=_resident(event.resident, envelope),
            training=event.service_type == service_type_pb2.SERVICE_TYPE_TRAINING,
            duration_seconds=event.duration_seconds,
            corrected_at=at.ToDatetime(tzinfo=UTC),
        )
        credit = await asyncio.to_thread(progress.correct_attendance, command, self.uow_factory())
        self._count(command.community_id, credit)


class IdentityEvents:
    """Handlers for identity.events: who holds the core_volunteer role (identity's grants only)."""

    def __init__(self, uow_factory: Callable[[], TrainingUnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            _name(identity_events_pb2.RoleGranted): self.role_granted,
            _name(identity_events_pb2.RoleRevoked): self.role_revoked,
        }

    async def _change(
        self, envelope: envelope_pb2.EventEnvelope, resident: str, core: bool
    ) -> None:
        command = commands.ChangeCoreVolunteer(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=_resident(resident, envelope),
            core=core,
        )
        await asyncio.to_thread(progress.change_core_volunteer, command, self.uow_factory())

    async def role_granted(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """A core_volunteer grant opens the advanced tier; other roles pass by."""
        event = identity_events_pb2.RoleGranted()
        envelope.payload.Unpack(event)
        if event.role == Role.CORE_VOLUNTEER:
            await self._change(envelope, event.resident, core=True)

    async def role_revoked(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """A core_volunteer revocation closes the advanced tier to new enrolments."""
        event = identity_events_pb2.RoleRevoked()
        envelope.payload.Unpack(event)
        if event.role == Role.CORE_VOLUNTEER:
            await self._change(envelope, event.resident, core=False)
