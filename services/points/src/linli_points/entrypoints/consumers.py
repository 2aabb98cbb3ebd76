"""Stream consumers: turn events from other services into points commands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC

from linli.common.v1 import service_type_pb2
from linli.events.v1 import attendance_events_pb2, envelope_pb2

from linli_kit import metrics
from linli_kit.names import parse_name
from linli_kit.streams import EnvelopeHandler, PoisonEvent
from linli_points.domain.rules import ServiceType
from linli_points.service_layer import handlers
from linli_points.service_layer.ports import PointsUnitOfWork

SERVICE_TYPES = {
    service_type_pb2.SERVICE_TYPE_REGULAR: ServiceType.REGULAR,
    service_type_pb2.SERVICE_TYPE_PROFESSIONAL: ServiceType.PROFESSIONAL,
    service_type_pb2.SERVICE_TYPE_HIGH_RISK: ServiceType.HIGH_RISK,
}


class AttendanceEvents:
    """Handlers for attendance.events, by payload type."""

    def __init__(self, uow_factory: Callable[[], PointsUnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        name = attendance_events_pb2.SessionCompleted.DESCRIPTOR.full_name
        return {name: self.session_completed}

    async def session_completed(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Award the hourly points for a completed session."""
        event = attendance_events_pb2.SessionCompleted()
        envelope.payload.Unpack(event)
        resident = parse_name("communities/{community}/residents/{resident}", event.resident)
        if resident["community"] != envelope.community_id:
            raise PoisonEvent(f"{event.resident} is not in {envelope.community_id}")
        if event.service_type not in SERVICE_TYPES:
            raise PoisonEvent(f"unknown service type {event.service_type}")
        command = handlers.AwardForSession(
            event_id=envelope.event_id,
            community_id=envelope.community_id,
            resident_id=resident["resident"],
            session=event.session,
            service_type=SERVICE_TYPES[event.service_type],
            duration_seconds=event.duration_seconds,
            occurred_at=event.signed_out_at.ToDatetime(tzinfo=UTC),
        )
        transaction = await asyncio.to_thread(
            handlers.award_for_session, command, self.uow_factory()
        )
        if transaction is not None:
            metrics.POINTS_AWARDS.labels(command.community_id, transaction.rule_id).inc()
