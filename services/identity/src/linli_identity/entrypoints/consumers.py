"""identity.events consumer that keeps this replica's in-memory galleries in sync.

Not an inbox consumer (`once_per_event`): every replica must apply every face event to its
own memory, and refreshing an entry from the database is idempotent by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from linli.events.v1 import envelope_pb2, identity_events_pb2

from linli_identity.domain import names
from linli_identity.service_layer import faces
from linli_identity.service_layer.face_port import Galleries
from linli_identity.service_layer.ports import IdentityUnitOfWork
from linli_kit.streams import EnvelopeHandler, PoisonEvent

log = logging.getLogger(__name__)


class GroupConsumer(Protocol):
    """A stream consumer group this replica reads (linli_kit.streams.StreamConsumer)."""

    async def ensure_group(self) -> None:
        """Create the group if missing."""
        ...

    async def run(self) -> None:
        """Consume until cancelled."""
        ...


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
        ids = names.RESIDENT.parse(message.resident, "resident")
        if ids["community"] != envelope.community_id:
            raise PoisonEvent(f"{message.resident} is not in {envelope.community_id}")
        await asyncio.to_thread(
            faces.refresh_gallery_entry,
            ids["community"],
            ids["resident"],
            self.uow_factory(),
            self.galleries,
        )


class GalleryFollower:
    """Creates this replica's group, then fills the galleries, then follows the stream.

    The group starts at the stream's end and is created *before* the galleries load, so no
    face event between the load and the first read is missed.
    """

    def __init__(
        self, consumer: GroupConsumer, load: Callable[[], int], loaded: Callable[[], None]
    ) -> None:
        self.consumer = consumer
        self.load = load
        self.loaded = loaded

    async def run(self) -> None:
        """The background worker: group, load, then consume until cancelled."""
        await self.consumer.ensure_group()
        count = await asyncio.to_thread(self.load)
        log.info("loaded %d face templates into the galleries", count)
        self.loaded()
        await self.consumer.run()
