"""Points domain events as protobuf payloads for points.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.events.v1 import points_events_pb2

from linli_kit.domain import DomainEvent
from linli_points.domain.council import AuditAdopted
from linli_points.domain.ledger import AwardReversed, PointsAwarded
from linli_points.names import COUNCIL_MEETING, RESIDENT, TRANSACTION


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for a points event."""
    community = event.community_id
    match event:
        case PointsAwarded():
            return points_events_pb2.PointsAwarded(
                transaction=TRANSACTION.format(
                    community=community, transaction=event.transaction_id
                ),
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                amount_centipoints=event.amount,
                rule_id=event.rule_id,
                source_event_id=event.source_id,
            )
        case AwardReversed():
            return points_events_pb2.AwardReversed(
                transaction=TRANSACTION.format(
                    community=community, transaction=event.transaction_id
                ),
                reversed_transaction=TRANSACTION.format(
                    community=community, transaction=event.reversed_transaction_id
                ),
                resident=RESIDENT.format(community=community, resident=event.resident_id),
                amount_centipoints=event.amount,
            )
        case AuditAdopted():
            return points_events_pb2.AuditAdopted(
                meeting=COUNCIL_MEETING.format(community=community, meeting=event.meeting_id),
                year=event.year,
                quarter=event.quarter,
                integrity_ok=event.integrity_ok,
                transactions_checked=event.transactions_checked,
                breaks=event.breaks,
                report_sha256=event.report_sha256,
            )
    raise TypeError(f"no payload for {type(event).__name__}")
