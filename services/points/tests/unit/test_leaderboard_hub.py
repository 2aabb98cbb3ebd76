"""The watcher fan-out: snapshots, coalescing, and slow watchers that block nobody (P7)."""

from __future__ import annotations

import asyncio

from linli_points.adapters.leaderboard import LeaderboardHub


class Boards:
    """Stands in for Redis: a board whose standings the test sets, counting reads."""

    def __init__(self) -> None:
        self.standings: list[tuple[str, int]] = []
        self.reads = 0

    async def top(self, community_id: str, year: int, scope: str, size: int):
        """The current standings."""
        self.reads += 1
        return self.standings[:size]


async def test_a_slow_watcher_gets_only_the_latest_and_never_holds_up_a_fast_one() -> None:
    boards = Boards()
    hub = LeaderboardHub(boards, min_interval=0.01)  # type: ignore[arg-type]
    fast = hub.watch("c", 2026, "community", 10)
    slow = hub.watch("c", 2026, "community", 10)
    first_fast, first_slow = await anext(fast), await anext(slow)
    assert first_fast == first_slow == []
    seen_by_fast = []

    for n in range(1, 6):
        boards.standings = [("r-alice", 100 * n)]
        hub._changed("c:2026")
        seen_by_fast.append(await asyncio.wait_for(anext(fast), 1))

    assert seen_by_fast == [[("r-alice", 100 * n)] for n in range(1, 6)]
    latest = await asyncio.wait_for(anext(slow), 1)
    assert latest == [("r-alice", 500)]  # coalesced to the last
    assert boards.reads == 1 + 5  # one shared read for the snapshots, then one per change
    await fast.aclose()
    await slow.aclose()


async def test_changes_to_other_boards_wake_nobody() -> None:
    boards = Boards()
    hub = LeaderboardHub(boards, min_interval=0.01)  # type: ignore[arg-type]
    watcher = hub.watch("c", 2026, "community", 10)
    await anext(watcher)

    hub._changed("c:2025")
    hub._changed("other:2026")

    arrived = await _arrives(watcher)
    assert not arrived
    await watcher.aclose()


async def _arrives(watcher) -> bool:
    try:
        await asyncio.wait_for(anext(watcher), 0.2)
    except TimeoutError:
        return False
    return True
