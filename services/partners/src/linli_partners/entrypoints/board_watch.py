"""Live CSR boards: watchers of one community and year share one look at the database.

The database is the truth, so every replica's watchers see every contribution: each board's
version (how many contributions, their sum) is read at most once per poll interval whatever
the number of watchers, and at once when this replica records a contribution.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from linli_kit.errors import ResourceExhausted
from linli_partners.domain.board import CsrEntry
from linli_partners.service_layer import board
from linli_partners.service_layer.ports import PartnersUnitOfWork

MAX_WATCHERS = 1000  # per replica; a board is cheap to read, watchers are not free


class BoardWatch:
    """Follows boards for their watchers."""

    def __init__(self, uow_factory: Callable[[], PartnersUnitOfWork], poll_seconds: float) -> None:
        self.uow_factory, self.poll_seconds = uow_factory, poll_seconds
        self._versions: dict[tuple[str, int], tuple[float, tuple[int, int]]] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._watchers = 0

    def changed(self, community_id: str) -> None:
        """A contribution was recorded here: look again now."""
        for key in [k for k in self._versions if k[0] == community_id]:
            del self._versions[key]
        wakeup = self._wakeups.pop(community_id, None)
        if wakeup is not None:
            wakeup.set()

    async def _version(self, key: tuple[str, int]) -> tuple[int, int]:
        async with self._locks.setdefault(key, asyncio.Lock()):
            seen = self._versions.get(key)
            if seen is None or time.monotonic() - seen[0] >= self.poll_seconds:
                version = await asyncio.to_thread(board.version, *key, self.uow_factory())
                seen = self._versions[key] = (time.monotonic(), version)
            return seen[1]

    async def follow(self, community_id: str, year: int, top: int) -> AsyncIterator[list[CsrEntry]]:
        """The board now, then again after every change, until the watcher leaves."""
        if self._watchers >= MAX_WATCHERS:
            raise ResourceExhausted("too many boards are being watched; try again later", 5)
        self._watchers += 1
        key, last = (community_id, year), None
        try:
            while True:
                version = await self._version(key)
                if version != last:
                    last = version
                    yield await asyncio.to_thread(
                        board.board, community_id, year, top, self.uow_factory()
                    )
                wakeup = self._wakeups.setdefault(community_id, asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self.poll_seconds)
        finally:
            self._watchers -= 1
