"""identity.events consumer that keeps this replica's in-memory galleries in sync."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from linli.events.v1 import envelope_pb2, identity_events_pb2

from linli_identity.service_layer import face_handlers
from linli_identity.service_layer.face_port import Galleries
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.names import parse_name
from linli_kit.streams import EnvelopeHandler, PoisonEvent

RESIDENT = "communities/{community}/residents/{resident}"


class GallerySync:
    """Handlers for the face events on identity.events, by payload type."""

    def __init__(self, uow_factory: Callable[[], IdentityUnitOfWork], galleries: Galleries) -> None:
        self.uow_factory = uow_factory
        self.galleries = galleries

    def handlers(self) -> dict[str, EnvelopeHandler]:
        """Payload type name → handler."""
        return {
            identity_events_pb2.FaceEnrolled.DESCRIPTOR.full_name: self.face_changed,
            identity_events_pb2.FaceConsentWithdrawn.DESCRIPTOR.full_name: self.face_changed,
        }

    async def face_changed(self, envelope: envelope_pb2.EventEnvelope) -> None:
        """Reload (or drop) the resident's template from the database."""
        message = (
            identity_events_pb2.FaceEnrolled()
            if envelope.payload.Is(identity_events_pb2.FaceEnrolled.DESCRIPTOR)
            else identity_events_pb2.FaceConsentWithdrawn()
        )
        envelope.payload.Unpack(message)
        ids = parse_name(RESIDENT, message.resident, "resident")
        if ids["community"] != envelope.community_id:
            raise PoisonEvent(f"{message.resident} is not in {envelope.community_id}")
        await asyncio.to_thread(
            face_handlers.refresh_gallery_entry,
            ids["community"],
            ids["resident"],
            self.uow_factory(),
            self.galleries,
        )
