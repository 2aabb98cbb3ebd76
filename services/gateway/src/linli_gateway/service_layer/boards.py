"""Live leaderboards for every viewer from one upstream watch per board.

Points caps the server streams one caller holds open (16), and every browser reaches it as the
same caller, the gateway. So the gateway holds at most one WatchLeaderboard per board
(community, scope, year), keeps the board's places from its snapshot and changes, and hands
each viewer the latest ranking. A viewer who falls behind skips to the newest ranking; a board
nobody watches is closed after a while; a broken watch is reopened (with a new snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BoardKey:
    """Which board: a community, a scope ("community", "grid:g", "building:g/b") and a year."""

    community: str
    scope: str
    year: int  # 0: the current policy year


@dataclass(frozen=True)
class Place:
    """One resident's place on a board (the name as points masks it)."""

    resident: str
    rank: int
    score_centipoints: int
    display_name: str


@dataclass(frozen=True)
class Change:
    """What one upstream message says: the whole board, or the places that changed."""

    snapshot: bool
    places: tuple[Place, ...]
    removed: tuple[str, ...] = ()


Ranking = tuple[Place, ...]
Watch = Callable[[BoardKey], AsyncIterator[Change]]


class BoardsBusy(Exception):
    """Every upstream watch the gateway may hold is in use by viewers."""


@dataclass
class _Board:
    places: dict[str, Place] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    viewers: set[asyncio.Queue[Ranking]] = field(default_factory=set)
    failure: BaseException | None = None
    idle_since: float = 0.0
    task: asyncio.Task[None] | None = None

    def apply(self, change: Change) -> None:
        if change.snapshot:
            self.places = {}
        for resident in change.removed:
            self.places.pop(resident, None)
        for place in change.places:
            self.places[place.resident] = place

    def ranking(self) -> Ranking:
        return tuple(sorted(self.places.values(), key=lambda p: (p.rank, p.resident)))

    def publish(self) -> None:
        ranking = self.ranking()
        for queue in self.viewers:
            if queue.full():
                queue.get_nowait()  # a slow viewer skips to the newest ranking
            queue.put_nowait(ranking)


class BoardHub:
    """The boards being watched, shared by every viewer of this gateway replica."""

    def __init__(
        self,
        watch: Watch,
        max_boards: int = 12,
        linger_seconds: float = 30.0,
        retry_seconds: float = 1.0,
        first_snapshot_seconds: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.watch, self.max_boards = watch, max_boards
        self.linger_seconds, self.retry_seconds = linger_seconds, retry_seconds
        self.first_snapshot_seconds = first_snapshot_seconds
        self.clock = clock or (lambda: asyncio.get_running_loop().time())
        self._boards: dict[BoardKey, _Board] = {}

    @property
    def open_watches(self) -> int:
        """How many upstream watches are open (or opening) now."""
        return sum(1 for b in self._boards.values() if b.task is not None and not b.task.done())

    async def ranking(self, key: BoardKey) -> Ranking:
        """The board's current ranking (opening its watch if needed; its refusal if it fails)."""
        board = await self._ready(key)
        if not board.viewers:
            board.idle_since = self.clock()
        return board.ranking()

    @contextlib.asynccontextmanager
    async def follow(self, key: BoardKey) -> AsyncIterator[asyncio.Queue[Ranking]]:
        """A queue that receives the ranking now and after every change, while in the block."""
        board = await self._ready(key)
        queue: asyncio.Queue[Ranking] = asyncio.Queue(maxsize=1)
        queue.put_nowait(board.ranking())
        board.viewers.add(queue)
        try:
            yield queue
        finally:
            board.viewers.discard(queue)
            if not board.viewers:
                board.idle_since = self.clock()

    async def close(self) -> None:
        """Stop every upstream watch."""
        tasks = [b.task for b in self._boards.values() if b.task is not None]
        self._boards.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _ready(self, key: BoardKey) -> _Board:
        board = self._boards.get(key)
        if board is None:
            board = self._open(key)
        try:
            await asyncio.wait_for(board.ready.wait(), self.first_snapshot_seconds)
        except TimeoutError:
            self._drop(key, board)
            raise
        if board.failure is not None and not board.places:
            self._drop(key, board)
            raise board.failure
        return board

    def _open(self, key: BoardKey) -> _Board:
        self._evict_idle()
        if len(self._boards) >= self.max_boards:
            raise BoardsBusy(f"{len(self._boards)} boards are being watched; try again soon")
        board = _Board(idle_since=self.clock())
        self._boards[key] = board
        board.task = asyncio.get_running_loop().create_task(self._run(key, board))
        return board

    def _evict_idle(self) -> None:
        now = self.clock()
        for key, board in list(self._boards.items()):
            if not board.viewers and now - board.idle_since >= self.linger_seconds:
                self._drop(key, board)
        if len(self._boards) >= self.max_boards:
            idle = [(b.idle_since, k) for k, b in self._boards.items() if not b.viewers]
            if idle:
                _, oldest = min(idle, key=lambda item: item[0])
                self._drop(oldest, self._boards[oldest])

    def _drop(self, key: BoardKey, board: _Board) -> None:
        if self._boards.get(key) is board:
            del self._boards[key]
        if board.task is not None and board.task is not asyncio.current_task():
            board.task.cancel()

    async def _run(self, key: BoardKey, board: _Board) -> None:
        """Follow the upstream watch; reopen it when it breaks, until nobody looks."""
        while self._boards.get(key) is board:
            try:
                async for change in self.watch(key):
                    board.apply(change)
                    board.failure = None
                    board.ready.set()
                    board.publish()
                    if not board.viewers and self.clock() - board.idle_since >= self.linger_seconds:
                        self._drop(key, board)
                        return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                board.failure = exc
                if not board.places:
                    board.ready.set()  # the first caller learns why; the board is dropped
                    return
            await asyncio.sleep(self.retry_seconds)
            if not board.viewers and self.clock() - board.idle_since >= self.linger_seconds:
                self._drop(key, board)
                return
