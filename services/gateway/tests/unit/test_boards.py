"""The leaderboard hub: one upstream watch per board, shared by every viewer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from linli_gateway.service_layer.boards import BoardHub, BoardKey, BoardsBusy, Change, Place

KEY = BoardKey("demo", "community", 0)


def _place(resident: str, rank: int, score: int) -> Place:
    return Place(f"communities/demo/residents/{resident}", rank, score, resident[0] + "*")


class Upstream:
    """A fake WatchLeaderboard: a queue of changes per opened watch; counts what is open."""

    def __init__(self) -> None:
        self.opened: list[BoardKey] = []
        self.open_now = 0
        self.feeds: list[asyncio.Queue[Change | Exception]] = []

    async def watch(self, key: BoardKey) -> AsyncIterator[Change]:
        self.opened.append(key)
        feed: asyncio.Queue[Change | Exception] = asyncio.Queue()
        self.feeds.append(feed)
        self.open_now += 1
        try:
            while True:
                item = await feed.get()
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.open_now -= 1


async def _until(condition, within: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


async def test_many_viewers_share_one_upstream_watch_and_see_each_change() -> None:
    upstream = Upstream()
    hub = BoardHub(upstream.watch)
    first = asyncio.create_task(hub.ranking(KEY))
    await _until(lambda: upstream.feeds)
    upstream.feeds[0].put_nowait(Change(True, (_place("ann", 1, 500), _place("bo", 2, 300))))
    assert [p.rank for p in await first] == [1, 2]
    async with hub.follow(KEY) as a, hub.follow(KEY) as b:
        assert (await a.get())[0].score_centipoints == 500
        await b.get()
        upstream.feeds[0].put_nowait(Change(False, (_place("bo", 1, 900), _place("ann", 2, 500))))
        for queue in (a, b):
            ranking = await asyncio.wait_for(queue.get(), 2)
            assert [(p.resident[-2:], p.rank) for p in ranking] == [("bo", 1), ("nn", 2)]
        upstream.feeds[0].put_nowait(Change(False, (), ("communities/demo/residents/ann",)))
        assert len(await asyncio.wait_for(a.get(), 2)) == 1
    assert upstream.opened == [KEY]
    await hub.close()


async def test_a_slow_viewer_skips_to_the_newest_ranking() -> None:
    upstream = Upstream()
    hub = BoardHub(upstream.watch)
    task = asyncio.create_task(hub.ranking(KEY))
    await _until(lambda: upstream.feeds)
    upstream.feeds[0].put_nowait(Change(True, (_place("ann", 1, 100),)))
    await task
    async with hub.follow(KEY) as slow:
        for score in (200, 300, 400):
            upstream.feeds[0].put_nowait(Change(False, (_place("ann", 1, score),)))
        await _until(lambda: slow.full() and slow._queue[0][0].score_centipoints == 400)  # type: ignore[attr-defined]
        assert (await slow.get())[0].score_centipoints == 400
    await hub.close()


async def test_a_refused_first_watch_is_the_callers_error_and_is_not_kept() -> None:
    upstream = Upstream()
    hub = BoardHub(upstream.watch)
    task = asyncio.create_task(hub.ranking(KEY))
    await _until(lambda: upstream.feeds)
    upstream.feeds[0].put_nowait(ValueError("scope must be …"))
    with pytest.raises(ValueError, match="scope"):
        await task
    assert hub.open_watches == 0
    again = asyncio.create_task(hub.ranking(KEY))
    await _until(lambda: len(upstream.feeds) == 2)
    upstream.feeds[1].put_nowait(Change(True, ()))
    assert await again == ()
    await hub.close()


async def test_a_broken_watch_is_reopened_and_viewers_keep_the_board() -> None:
    upstream = Upstream()
    hub = BoardHub(upstream.watch, retry_seconds=0.01)
    task = asyncio.create_task(hub.ranking(KEY))
    await _until(lambda: upstream.feeds)
    upstream.feeds[0].put_nowait(Change(True, (_place("ann", 1, 100),)))
    await task
    async with hub.follow(KEY) as viewer:
        await viewer.get()
        upstream.feeds[0].put_nowait(ConnectionError("points restarted"))
        await _until(lambda: len(upstream.feeds) == 2)
        upstream.feeds[1].put_nowait(Change(True, (_place("ann", 1, 700),)))
        assert (await asyncio.wait_for(viewer.get(), 2))[0].score_centipoints == 700
    assert upstream.open_now == 1
    await hub.close()


async def test_boards_are_bounded_and_an_idle_one_makes_room() -> None:
    upstream = Upstream()
    now = [0.0]
    hub = BoardHub(upstream.watch, max_boards=2, linger_seconds=30, clock=lambda: now[0])
    keys = [BoardKey("demo", f"grid:g{n}", 0) for n in range(3)]

    async def opened(key: BoardKey) -> None:
        task = asyncio.create_task(hub.ranking(key))
        await _until(lambda: bool(upstream.opened) and upstream.opened[-1] == key)
        upstream.feeds[-1].put_nowait(Change(True, ()))
        await task

    await opened(keys[0])
    async with hub.follow(keys[0]):
        await opened(keys[1])
        async with hub.follow(keys[1]):
            with pytest.raises(BoardsBusy):
                await hub.ranking(keys[2])
        now[0] = 1.0  # keys[1] is idle now; it gives way to a new board
        await opened(keys[2])
        await _until(lambda: upstream.open_now == 2)
    await hub.close()
    await _until(lambda: upstream.open_now == 0)
