"""Leaderboards in Redis sorted sets, and live fan-out to watchers with coalescing (P7)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis

from linli_kit.errors import Unavailable
from linli_points.domain.standings import COMMUNITY_SCOPE, scopes_for
from linli_points.service_layer.ports import Leaderboards, LeaderboardStore, LeaderboardWatch

log = logging.getLogger(__name__)
SEEN_TTL_SECONDS = 7 * 86400
MAX_WATCHED = 500

# Apply one earning exactly once: the event id is remembered next to the boards it changed.
# KEYS: seen, the resident's boards..., the year's index, the community's placements; the
# boards are those of ARGV[4], refused (-1) once the resident was placed elsewhere since.
APPLY = """
local placed = redis.call('HGET', KEYS[#KEYS], ARGV[3])
if placed and placed ~= ARGV[4] then return -1 end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
for i = 2, #KEYS - 2 do
  redis.call('ZINCRBY', KEYS[i], ARGV[2], ARGV[3])
  redis.call('SADD', KEYS[#KEYS - 1], KEYS[i])
end
return 1
"""

# Place a resident: their community score of the year goes on the boards of their org unit
# and off the former ones. KEYS: the community board, the placements, the year's index,
# ARGV[3] new boards, then the former boards; ARGV: resident, org unit, how many new boards.
PLACE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local new = tonumber(ARGV[3])
for i = 4 + new, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
if score then
  for i = 4, 3 + new do
    redis.call('ZADD', KEYS[i], score, ARGV[1])
    redis.call('SADD', KEYS[3], KEYS[i])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
PLACE_ATTEMPTS = 5


class BoardKeys:
    """Key and channel names under one stream prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def board(self, community_id: str, year: int, scope: str) -> str:
        """The sorted set of one board."""
        return f"{self.prefix}points:lb:{community_id}:{year}:{scope}"

    def index(self, community_id: str, year: int) -> str:
        """The set of a year's board keys."""
        return f"{self.prefix}points:lb:{community_id}:{year}"

    def names(self, community_id: str) -> str:
        """The hash of a community's residents' display names (resident id → name)."""
        return f"{self.prefix}points:names:{community_id}"

    def placements(self, community_id: str) -> str:
        """The hash of the org unit each resident's boards were last placed by."""
        return f"{self.prefix}points:lb-placed:{community_id}"

    def seen(self, event_id: str) -> str:
        """Marks an event as applied."""
        return f"{self.prefix}points:lb-seen:{event_id}"

    @property
    def channel(self) -> str:
        """Where 'community:year' is published when a board changes."""
        return f"{self.prefix}points:lb-changed"


class RedisLeaderboardStore(LeaderboardStore):
    """Synchronous writer used by the rebuild use case."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = redis.Redis.from_url(redis_url)
        self.keys = BoardKeys(prefix)

    def replace(
        self, community_id: str, year: int, boards: Mapping[str, Mapping[str, int]]
    ) -> None:
        """Swap in freshly computed boards atomically and tell the watchers."""
        index = self.keys.index(community_id, year)
        old = {k.decode() for k in self.redis.smembers(index)}  # type: ignore[union-attr]
        pipe = self.redis.pipeline(transaction=True)
        new = set()
        for scope, scores in boards.items():
            key = self.keys.board(community_id, year, scope)
            new.add(key)
            pipe.delete(key)
            if scores:
                pipe.zadd(key, {resident: score for resident, score in scores.items()})
        for key in old - new:
            pipe.delete(key)
        pipe.delete(index)
        if new:
            pipe.sadd(index, *sorted(new))
        pipe.publish(self.keys.channel, f"{community_id}:{year}")
        pipe.execute()

    def close(self) -> None:
        """Release the connection pool."""
        self.redis.close()


class RedisLeaderboards(Leaderboards):
    """Asynchronous reads and idempotent increments of the boards."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        # A blocking pool: a thousand watchers opening at once wait for a connection, not fail.
        self.redis = aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=32)
        )
        self.keys = BoardKeys(prefix)
        self._apply = self.redis.register_script(APPLY)
        self._place = self.redis.register_script(PLACE)

    async def apply(
        self,
        *,
        event_id: str,
        community_id: str,
        year: int,
        resident_id: str,
        org_unit: str,
        delta: int,
    ) -> bool:
        """Add an earning to every board of the resident once; False for a repeated event.

        The org unit is the caller's view; if the resident's boards were placed by another one
        since (`place`), that placement's org unit is used instead, so a score never lands on
        boards the resident just left.
        """
        placements = self.keys.placements(community_id)
        for _ in range(PLACE_ATTEMPTS):
            boards = [self.keys.board(community_id, year, s) for s in scopes_for(org_unit)]
            keys = [self.keys.seen(event_id), *boards, self.keys.index(community_id, year)]
            applied = await self._apply(
                keys=[*keys, placements], args=[SEEN_TTL_SECONDS, delta, resident_id, org_unit]
            )
            if applied != -1:
                break
            placed: Any = await self.redis.hget(placements, resident_id)
            org_unit = bytes(placed).decode() if placed is not None else ""
        else:
            raise Unavailable("the resident's placement keeps changing; retry")
        if applied:
            await self.redis.publish(self.keys.channel, f"{community_id}:{year}")
        return bool(applied)

    async def place(
        self, community_id: str, year: int, resident_id: str, org_unit: str, former: Sequence[str]
    ) -> None:
        """Put the resident's score of a year on the boards of their org unit (its grid and
        building) and take it off those of the former ones; the same call twice changes nothing."""
        placements = self.keys.placements(community_id)
        placed: Any = await self.redis.hget(placements, resident_id)
        units = [*former, *([bytes(placed).decode()] if placed is not None else [])]
        new = scopes_for(org_unit)[1:]
        old = sorted({s for u in units for s in scopes_for(u)[1:]} - set(new))
        keys = [
            self.keys.board(community_id, year, COMMUNITY_SCOPE),
            placements,
            self.keys.index(community_id, year),
            *(self.keys.board(community_id, year, s) for s in [*new, *old]),
        ]
        await self._place(keys=keys, args=[resident_id, org_unit, len(new)])
        await self.redis.publish(self.keys.channel, f"{community_id}:{year}")

    async def placement(self, community_id: str, resident_id: str) -> str | None:
        """The org unit the resident's boards were last placed by, or None."""
        placed: Any = await self.redis.hget(self.keys.placements(community_id), resident_id)
        return None if placed is None else bytes(placed).decode()

    async def top(
        self, community_id: str, year: int, scope: str, size: int
    ) -> list[tuple[str, int]]:
        """The first places of a board, highest score first (ties by resident id)."""
        try:
            rows: Any = await self.redis.zrevrange(
                self.keys.board(community_id, year, scope), 0, size - 1, withscores=True
            )
        except redis.RedisError as exc:
            raise Unavailable("the leaderboard store is unreachable; retry") from exc
        return [(bytes(r).decode(), int(s)) for r, s in rows]

    async def remember_name(self, community_id: str, resident_id: str, display_name: str) -> None:
        """Keep a resident's display name for the boards (the latest one told wins)."""
        await self.redis.hset(self.keys.names(community_id), resident_id, display_name)

    async def display_names(
        self, community_id: str, resident_ids: Sequence[str]
    ) -> Mapping[str, str]:
        """The known display names of the residents; Unavailable if unreachable."""
        if not resident_ids:
            return {}
        try:
            found: Any = await self.redis.hmget(self.keys.names(community_id), list(resident_ids))
        except redis.RedisError as exc:
            raise Unavailable("the leaderboard store is unreachable; retry") from exc
        return {r: bytes(n).decode() for r, n in zip(resident_ids, found, strict=True) if n}

    async def close(self) -> None:
        """Release the connection pool."""
        await self.redis.aclose()


Standings = list[tuple[str, int]]


@dataclass(eq=False)
class _Watcher:
    size: int
    latest: Standings | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, standings: Standings) -> None:
        # Overwrite, never queue: a slow watcher skips to the newest standings.
        self.latest = standings[: self.size]
        self.ready.set()


@dataclass(eq=False)
class _Board:
    watchers: set[_Watcher] = field(default_factory=set)
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    # The last standings read and how many places they cover, shared by every watcher.
    latest: Standings | None = None
    size: int = 0
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)


class LeaderboardHub(LeaderboardWatch):
    """Fans board changes out to any number of watchers; one Redis read per board per tick."""

    def __init__(self, boards: RedisLeaderboards, min_interval: float = 0.25) -> None:
        self.boards = boards
        self.min_interval = min_interval
        self._boards: dict[tuple[str, int, str], _Board] = {}

    async def run(self) -> None:
        """Listen for board changes until cancelled (a background task of the service)."""
        while True:
            pubsub = self.boards.redis.pubsub()
            try:
                await pubsub.subscribe(self.boards.keys.channel)
                for board in self._boards.values():
                    board.dirty.set()  # changes may have been missed while disconnected
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._changed(message["data"].decode())
            except redis.RedisError:
                log.exception("leaderboard hub lost Redis; retrying")
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(redis.RedisError):
                    await pubsub.aclose()

    def _changed(self, community_year: str) -> None:
        community_id, _, year = community_year.rpartition(":")
        for (c, y, _), board in self._boards.items():
            if c == community_id and str(y) == year:
                board.dirty.set()

    async def _read(self, key: tuple[str, int, str], board: _Board, size: int) -> None:
        async with board.reading:
            board.latest = await self.boards.top(*key, size)
            board.size = size

    async def _refresh(self, key: tuple[str, int, str], board: _Board) -> None:
        while board.watchers:
            await board.dirty.wait()
            board.dirty.clear()
            if not board.watchers:
                return
            try:
                await self._read(key, board, max(w.size for w in board.watchers))
            except Unavailable:
                log.exception("leaderboard read failed; retrying")
                board.dirty.set()
            else:
                assert board.latest is not None
                for watcher in list(board.watchers):
                    watcher.offer(board.latest)
            await asyncio.sleep(self.min_interval)  # coalesce: at most one update per interval

    async def watch(
        self, community_id: str, year: int, scope: str, size: int
    ) -> AsyncIterator[Standings]:
        """The board's standings now, then again whenever they change (coalesced)."""
        key = (community_id, year, scope)
        board = self._boards.setdefault(key, _Board())
        watcher = _Watcher(min(size, MAX_WATCHED))
        board.watchers.add(watcher)
        if board.latest is None or board.size < watcher.size:
            await self._read(key, board, max(watcher.size, board.size))
        assert board.latest is not None
        watcher.offer(board.latest)
        if board.task is None or board.task.done():
            board.task = asyncio.create_task(self._refresh(key, board))
        try:
            while True:
                await watcher.ready.wait()
                watcher.ready.clear()
                assert watcher.latest is not None
                yield watcher.latest
        finally:
            board.watchers.discard(watcher)
            if not board.watchers:
                board.dirty.set()  # let the refresher see it is idle and end
                self._boards.pop(key, None)
