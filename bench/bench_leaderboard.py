"""Leaderboard fan-out benchmark: 1,000 WatchLeaderboard streams on one points server, each
award delivered to all of them (python bench/bench_leaderboard.py).

Awards first come one at a time, then at RATE for SECONDS_AT_RATE, each changing the board's
top (the worst case for the hub: every award is news to every watcher). For every award and
subscriber, the clock runs from the score change in Redis to the first update showing it
(the hub coalesces: at most one update per board per 0.25 s). The server runs in this process,
the subscribers in another (each with one of the machine's two cores). The baseline, measured
in the same run, is one Redis read of the board per subscriber per change (what the hub would
do without sharing one read among the watchers of a board).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
import uuid
from datetime import UTC, datetime
from multiprocessing.connection import Connection

import grpc
import numpy as np
import redis.asyncio as aioredis
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc

from linli_kit import auth
from linli_kit.db import migrate
from linli_kit.grpc_server import start
from linli_kit.pki import DevelopmentCA
from linli_kit.scratch import create_database, drop_database, postgres_admin_url, redis_url
from linli_kit.testing import Credentials
from linli_points.adapters.leaderboard import RedisLeaderboards
from linli_points.bootstrap import build_app
from linli_points.config import PointsSettings
from linli_points.domain.periods import policy_year
from linli_points.entrypoints.cli import MIGRATIONS

REDIS = redis_url()
SUBSCRIBERS = 1000
CHANNELS = 10
ROUNDS = 15
RATE = 200.0  # awards per second in the second part, each changing the board's top
SECONDS_AT_RATE = 20.0
TARGET_P99_S = 1.0
C = "c-bench"
TOP = "r-top"
TOP_NAME = f"communities/{C}/residents/{TOP}"


async def subscriber(
    stub, year: int, seen: list[tuple[float, int]], metadata: auth.Metadata
) -> None:
    """Watch the board; note when each update arrives and the top resident's score in it."""
    request = pb.WatchLeaderboardRequest(parent=f"communities/{C}", year=year)
    call = stub.WatchLeaderboard(request, metadata=metadata)
    await call.read()
    seen.append((time.monotonic(), -1))  # the snapshot: open
    while True:
        update = await call.read()
        if update is grpc.aio.EOF:
            return
        for entry in update.entries:
            if entry.resident == TOP_NAME:
                seen.append((time.monotonic(), entry.score_centipoints))


async def watch_all(
    address: str, year: int, callers: list[auth.Metadata], orders: Connection
) -> None:
    """The subscribers of the watching process; it answers the bench's orders over a pipe."""
    seen: list[list[tuple[float, int]]] = [[] for _ in callers]
    channels = [grpc.aio.insecure_channel(address) for _ in range(CHANNELS)]
    stubs = [pb_grpc.PointsServiceStub(ch) for ch in channels]
    tasks = [
        asyncio.create_task(subscriber(stubs[i % CHANNELS], year, seen[i], caller))
        for i, caller in enumerate(callers)
    ]

    async def reached(score: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(s and s[-1][1] >= score for s in seen):
            await asyncio.sleep(0.005)

    await reached(-1)
    orders.send("open")
    while (order := await asyncio.to_thread(orders.recv)) != "done":
        await reached(order)
        orders.send("seen")
    orders.send([s[1:] for s in seen])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in channels:
        await ch.close()


def watching_process(
    address: str, year: int, callers: list[auth.Metadata], orders: Connection
) -> None:
    """A process of its own for the subscribers, so the server keeps a core to itself."""
    asyncio.run(watch_all(address, year, callers, orders))


def lags(seen: list[list[tuple[float, int]]], sent: dict[int, float]) -> tuple[list[float], int]:
    """Seconds from each award to each subscriber's first update showing it; how many never did."""
    # Award k raised the top resident's score to k points (100 k centipoints).
    found, missing = [], 0
    awards = np.array(sorted(sent))
    sent_at = np.array([sent[k] for k in awards])
    for updates in seen:
        times = np.array([t for t, _ in updates])
        scores = np.array([score for _, score in updates])
        first = np.searchsorted(scores, awards * 100, side="left")
        arrived = first < len(scores)
        missing += int((~arrived).sum())
        found.extend((times[first[arrived]] - sent_at[arrived]).tolist())
    return found, missing


def report(what: str, found: list[float], missing: int, total: int) -> float:
    """Print one row: delivered, p50 and p99 from the score change to each subscriber."""
    found.sort()
    p99 = found[int(len(found) * 0.99) - 1]
    print(
        f"  {what}: {total - missing}/{total} awards seen by every subscriber, "
        f"p50 {statistics.median(found) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        "from the score change to each subscriber"
    )
    return p99


async def fan_out(address: str, prefix: str, credentials: Credentials) -> None:
    """Open the streams, post awards one at a time, then at RATE, measure delivery."""
    year = policy_year(datetime.now(UTC))
    boards = RedisLeaderboards(REDIS, prefix)
    callers = [credentials.person(C, f"r-watcher-{i}") for i in range(SUBSCRIBERS)]
    spawn = multiprocessing.get_context("spawn")
    orders, theirs = spawn.Pipe()
    watching = spawn.Process(
        target=watching_process, args=(address, year, callers, theirs), daemon=True
    )
    opened = time.monotonic()
    watching.start()
    assert await asyncio.to_thread(orders.recv) == "open"
    print(
        f"  {SUBSCRIBERS} streams open with snapshots in {time.monotonic() - opened:.2f} s "
        "(a process of their own)"
    )

    async def award(k: int, sent: dict[int, float]) -> None:
        sent[k] = time.monotonic()
        await boards.apply(
            event_id=str(uuid.uuid4()),
            community_id=C,
            year=year,
            resident_id=TOP,
            org_unit="",
            delta=100,
        )

    async def all_seen(k: int) -> None:
        orders.send(k * 100)
        assert await asyncio.to_thread(orders.recv) == "seen"

    one_by_one: dict[int, float] = {}
    for k in range(1, ROUNDS + 1):
        await award(k, one_by_one)
        await all_seen(k)
        await asyncio.sleep(0.3)  # let the coalescing interval pass, so rounds stay apart

    at_rate: dict[int, float] = {}
    first, count = ROUNDS + 1, int(RATE * SECONDS_AT_RATE)
    started, sending = time.monotonic(), []
    for i in range(count):  # each on its schedule, whatever the earlier ones wait for
        behind = started + i / RATE - time.monotonic()
        if behind > 0:
            await asyncio.sleep(behind)
        sending.append(asyncio.create_task(award(first + i, at_rate)))
    await asyncio.gather(*sending)
    sent_in = time.monotonic() - started
    await all_seen(first + count - 1)
    orders.send("done")
    seen = await asyncio.to_thread(orders.recv)
    watching.join(10)
    report(f"{ROUNDS} changes one at a time", *lags(seen, one_by_one), SUBSCRIBERS * ROUNDS)
    p99 = report(
        f"{count} changes at {RATE:g}/s ({count / sent_in:.0f}/s sent)",
        *lags(seen, at_rate),
        SUBSCRIBERS * count,
    )
    print(
        f"  target p99 < {TARGET_P99_S:g} s at {RATE:g} awards/s: "
        f"{'met' if p99 < TARGET_P99_S else 'MISSED'}"
    )
    await boards.close()

    reader = aioredis.Redis(
        connection_pool=aioredis.BlockingConnectionPool.from_url(REDIS, max_connections=32)
    )
    key = boards.keys.board(C, year, "community")
    started = time.perf_counter()
    for _ in range(3):
        await asyncio.gather(
            *(reader.zrevrange(key, 0, 9, withscores=True) for _ in range(SUBSCRIBERS))
        )
    per_change = (time.perf_counter() - started) / 3
    await reader.aclose()
    print(
        f"  baseline, one Redis read per subscriber per change: {per_change * 1000:.0f} ms of "
        f"reads per change (the hub does 1 read per board per change)"
    )


async def main() -> None:
    """A scratch database and stream prefix, the server, the subscribers."""
    url = await asyncio.to_thread(create_database, postgres_admin_url(), "bench_board")
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    try:
        await asyncio.to_thread(migrate, url, MIGRATIONS)
        settings = PointsSettings(
            database_url=url,
            redis_url=REDIS,
            stream_prefix=prefix,
            metrics_port=0,
            scheduler_enabled=False,
            log_level="WARNING",
        )
        credentials = Credentials(auth.SigningKey.generate("bench"), DevelopmentCA.create())
        running = await start(build_app(settings, verifier=credentials.verifier()), "127.0.0.1", 0)
        print(f"leaderboard fan-out, {SUBSCRIBERS} subscribers")
        try:
            await fan_out(f"127.0.0.1:{running.port}", prefix, credentials)
        finally:
            await running.stop(grace=1)
    finally:
        client = aioredis.Redis.from_url(REDIS)
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await asyncio.to_thread(drop_database, postgres_admin_url(), url)


if __name__ == "__main__":
    asyncio.run(main())
