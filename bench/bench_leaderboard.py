"""Leaderboard fan-out benchmark: 1,000 WatchLeaderboard streams on one points server, each
award delivered to all of them (python bench/bench_leaderboard.py).

Server and clients share this process (and its two cores), so the figures are a floor. The
baseline, measured in the same run, is one Redis read of the board per subscriber per change
(what the hub would do without sharing one read among the watchers of a board).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

import grpc
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
C = "c-bench"


async def subscriber(
    stub,
    year: int,
    arrivals: dict[int, list[float]],
    ready: asyncio.Event,
    counter: list[int],
    metadata: auth.Metadata,
) -> None:
    """Watch the board; note when each round's score arrives."""
    request = pb.WatchLeaderboardRequest(parent=f"communities/{C}", year=year)
    call = stub.WatchLeaderboard(request, metadata=metadata)
    await call.read()
    counter[0] += 1
    if counter[0] == SUBSCRIBERS:
        ready.set()
    while True:
        update = await call.read()
        if update is grpc.aio.EOF:
            return
        for entry in update.entries:
            arrivals[entry.score_centipoints // 100].append(time.perf_counter())


async def fan_out(address: str, prefix: str, credentials: Credentials) -> None:
    """Open the streams, post one award per round, measure delivery to every subscriber."""
    year = policy_year(datetime.now(UTC))
    boards = RedisLeaderboards(REDIS, prefix)
    arrivals: dict[int, list[float]] = {r: [] for r in range(1, ROUNDS + 1)}
    ready, counter = asyncio.Event(), [0]
    channels = [grpc.aio.insecure_channel(address) for _ in range(CHANNELS)]
    stubs = [pb_grpc.PointsServiceStub(ch) for ch in channels]
    opened = time.perf_counter()
    tasks = [
        asyncio.create_task(
            subscriber(
                stubs[i % CHANNELS],
                year,
                arrivals,
                ready,
                counter,
                credentials.person(C, f"r-watcher-{i}"),  # each a caller of its own
            )
        )
        for i in range(SUBSCRIBERS)
    ]
    await asyncio.wait_for(ready.wait(), 60)
    print(f"  {SUBSCRIBERS} streams open with snapshots in {time.perf_counter() - opened:.2f} s")
    lags: list[float] = []
    for round_ in range(1, ROUNDS + 1):
        sent = time.perf_counter()
        await boards.apply(
            event_id=str(uuid.uuid4()),
            community_id=C,
            year=year,
            resident_id="r-top",
            org_unit="",
            delta=100,
        )
        deadline = time.monotonic() + 10
        while len(arrivals[round_]) < SUBSCRIBERS and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        lags.extend(t - sent for t in arrivals[round_])
        await asyncio.sleep(0.3)  # let the coalescing interval pass, so rounds stay apart
    delivered = sum(len(v) for v in arrivals.values())
    lags.sort()
    print(
        f"  hub fan-out: {delivered}/{SUBSCRIBERS * ROUNDS} updates delivered, "
        f"p50 {statistics.median(lags) * 1000:.0f} ms, "
        f"p99 {lags[int(len(lags) * 0.99) - 1] * 1000:.0f} ms "
        "from the score change to each subscriber"
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in channels:
        await ch.close()
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
        print(f"leaderboard fan-out, {SUBSCRIBERS} subscribers, {ROUNDS} changes")
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
