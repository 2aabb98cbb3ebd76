"""identity.events on Redis: the outbox relay and this replica's gallery-sync consumer groups."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import redis

from linli_kit.db import SqlPlumbing
from linli_kit.streams import EnvelopeHandler, OutboxRelay, StreamConsumer


class RedisStreams:
    """Makes the stream workers; nothing connects until a worker runs."""

    def __init__(self, redis_url: str, stream: str, plumbing: SqlPlumbing) -> None:
        self.redis_url = redis_url
        self.stream = stream
        self.plumbing = plumbing
        self._consumers: list[StreamConsumer] = []

    def relay(self) -> Callable[[], Coroutine[Any, Any, None]]:
        """The worker that moves committed outbox rows to the stream."""
        return OutboxRelay.of(self.plumbing, self.redis_url).run

    def follow(
        self, group: str, consumer: str, handlers: dict[str, EnvelopeHandler]
    ) -> StreamConsumer:
        """A group of this replica's own that reads only what arrives after it is created."""
        follower = StreamConsumer(
            self.redis_url, self.stream, group, consumer, handlers, start_id="$"
        )
        self._consumers.append(follower)
        return follower

    async def close(self) -> None:
        """Release the connections and drop the groups: stopped pods leave nothing behind."""
        for follower in self._consumers:
            await follower.close()
        with (
            contextlib.suppress(redis.RedisError),
            redis.Redis.from_url(self.redis_url) as client,
        ):
            for follower in self._consumers:
                client.xgroup_destroy(self.stream, follower.group)
