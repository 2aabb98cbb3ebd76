"""Identity domain events as protobuf payloads for identity.events."""

from __future__ import annotations

from google.protobuf.message import Message
from linli.events.v1 import identity_events_pb2
from linli_kit.domain import DomainEvent

from linli_identity.domain.residents import ResidentRegistered


def encode(event: DomainEvent) -> Message:
    """The protobuf payload for an identity event."""
    match event:
        case ResidentRegistered():
            return identity_events_pb2.ResidentRegistered(
                resident=f"communities/{event.community_id}/residents/{event.resident_id}",
                display_name=event.display_name, org_unit=event.org_unit,
            )
    raise TypeError(f"no payload for {type(event).__name__}")
