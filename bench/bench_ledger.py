"""Ledger benchmark: awards per second through the points service's own code path, against a
raw SQL baseline (two balance updates and one insert per transaction) on the same PostgreSQL
in the same run, 8 concurrent clients each (python bench/bench_ledger.py).

The service path is the consumer's: inbox row, chain-head lock, ordered account locks, four
postings, hash, outbox event, one commit. All awards go to one community, so they serialise
on its hash chain by design (P9); the baseline has no such order to keep. One client and
eight are both measured, to separate the cost of one award from the cost of that order.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from linli_kit.db import migrate, sql_plumbing
from linli_kit.scratch import scratch_database
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory as uow_factory
from linli_points.domain.rules import ServiceType
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import commands, earning
from linli_points.service_layer.ports import PointsUnitOfWork

CLIENTS = 8
SECONDS = 6.0
RESIDENTS = 200
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def run(clients: int, seconds: float, one: Callable[[int, int], None]) -> list[float]:
    """Call one(client, n) in a loop on each client thread for a while; the latencies."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def client(c: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            one(c, n)
            latencies[c].append(time.perf_counter() - started)
            n += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for per in latencies for x in per]


def report(name: str, latencies: list[float], seconds: float) -> float:
    """Print throughput and latency percentiles; return the throughput."""
    ordered = sorted(latencies)
    rate = len(ordered) / seconds
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"  {name:<34} {rate:8.0f} awards/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return rate


def service_path(make_uow: Callable[[], PointsUnitOfWork], clients: int) -> list[float]:
    """Awards through earning.award_for_session on the SQL unit of work."""

    def one(client: int, n: int) -> None:
        earning.award_for_session(
            commands.AwardForSession(
                event_id=str(uuid.uuid4()),
                community_id="c-bench",
                resident_id=f"r-{(client * 7919 + n) % RESIDENTS}",
                session=f"communities/c-bench/activities/a/sessions/s{client}-{n}",
                service_type=ServiceType.PROFESSIONAL,
                duration_seconds=7200,
                signed_in_at=AT,
            ),
            make_uow(),
        )

    one(0, -1)  # create the system accounts and the chain head outside the timing
    return run(clients, SECONDS, one)


def raw_baseline(dsn: str, clients: int) -> list[float]:
    """Two balance updates and one insert per transaction, in plain SQL."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_balances, bench_transactions")
        c.execute("CREATE TABLE bench_balances (id int PRIMARY KEY, balance bigint NOT NULL)")
        c.execute(
            "CREATE TABLE bench_transactions (id bigserial PRIMARY KEY, account int, "
            "amount bigint, reason text, created_at timestamptz DEFAULT now())"
        )
        c.execute(
            "INSERT INTO bench_balances SELECT g, 0 FROM generate_series(0, %s) g", (RESIDENTS,)
        )
    local = threading.local()

    def one(client: int, n: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(dsn)
        resident = 1 + (client * 7919 + n) % RESIDENTS
        with local.conn.transaction():
            local.conn.execute("UPDATE bench_balances SET balance = balance - 400 WHERE id = 0")
            local.conn.execute(
                "UPDATE bench_balances SET balance = balance + 400 WHERE id = %s", (resident,)
            )
            local.conn.execute(
                "INSERT INTO bench_transactions (account, amount, reason) VALUES (%s, 400, 'x')",
                (resident,),
            )

    return run(clients, SECONDS, one)


def main() -> None:
    """Create a scratch database, run both paths, print the figures and the ratio."""
    with scratch_database("bench_ledger") as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        migrate(url, MIGRATIONS)
        plumbing = sql_plumbing(url, orm.runtime, "bench-points.events", events.encode)
        make_uow = uow_factory(plumbing)
        print(f"ledger awards, {SECONDS:.0f} s per run, one PostgreSQL")
        report("service path, 1 client", service_path(make_uow, 1), SECONDS)
        report("raw SQL, 1 client", raw_baseline(dsn, 1), SECONDS)
        service = report(
            f"service path, {CLIENTS} clients", service_path(make_uow, CLIENTS), SECONDS
        )
        baseline = report(f"raw SQL, {CLIENTS} clients", raw_baseline(dsn, CLIENTS), SECONDS)
        print(
            f"  ratio service/raw: {service / baseline:.2f} "
            f"(raw is {baseline / service:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
