"""Ledger benchmark: awards per second through the points service's own write path (one writer
per community, group commit), against a raw SQL baseline (two balance updates and one insert
per transaction, one commit each) on the same PostgreSQL in the same run
(python bench/bench_ledger.py).

The service path is the consumer's: each client submits earning.award_for_session to the
community's writer and waits for its commit (inbox row, postings checked against balances held
under the chain-head fence, hash, outbox event). The old path (one unit of work and one commit
per award, every award waiting for the chain head) is measured too, for reference. So is a
reservation round trip (CreateReservation then CommitReservation, as the servicer runs them:
through the writer, request log claimed first) beside the same round trip with one unit of work
and one commit per call. After every service run the chain of each community is verified.
Telemetry is set up as in a served process with nothing to export.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import psycopg

from linli_kit.db import migrate, sql_plumbing
from linli_kit.principals import SYSTEM
from linli_kit.scratch import scratch_database
from linli_kit.telemetry import configure_telemetry
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory as uow_factory
from linli_points.domain.reservations import Reservation, Sink
from linli_points.domain.rules import ServiceType
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import commands, earning, queries, reservations
from linli_points.service_layer.ports import PointsUnitOfWork
from linli_points.service_layer.writer import CommunityWriter

CLIENTS = 8
COMMUNITIES = 10
SECONDS = 6.0
RESIDENTS = 200
DEPTH = 64  # awards one consumer reads at once (XREADGROUP count)
TARGET = 3.0  # the target: at least 3x the raw baseline
AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# Event ids and session names unique to this run, without a system call for each (uuid4's):
# the clients share the process, and so the interpreter, with the writers they measure.
RUN, SERIAL = uuid.uuid4().hex[:12], itertools.count()


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


def report(name: str, latencies: list[float], seconds: float, unit: str = "awards/s") -> float:
    """Print throughput and latency percentiles; return the throughput."""
    ordered = sorted(latencies)
    rate = len(ordered) / seconds
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"  {name:<44} {rate:8.0f} {unit}   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return rate


def award(community: str, client: int, n: int) -> commands.AwardForSession:
    """One regular-hours award for a resident picked by client and sequence."""
    return commands.AwardForSession(
        event_id=f"{RUN}-{next(SERIAL)}",
        community_id=community,
        resident_id=f"r-{(client * 7919 + n) % RESIDENTS}",
        session=f"communities/{community}/activities/a/sessions/s{RUN}-{next(SERIAL)}",
        service_type=ServiceType.PROFESSIONAL,
        duration_seconds=7200,
        signed_in_at=AT,
    )


def verified(make_uow: Callable[[], PointsUnitOfWork], communities: list[str]) -> str:
    """Verify every community's chain and balances; fail the bench on any break."""
    total = 0
    for community in communities:
        verification = queries.verify_ledger(SYSTEM, community, make_uow())
        if not verification.ok:
            raise SystemExit(f"VerifyLedger failed for {community}: {verification.breaks[:3]}")
        total += verification.transactions
    return f"chain verified ({len(communities)} communities, {total} transactions)"


def per_transaction_path(
    make_uow: Callable[[], PointsUnitOfWork], community: str, clients: int
) -> list[float]:
    """The old path: one unit of work and one commit per award."""

    def one(client: int, n: int) -> None:
        earning.award_for_session(award(community, client, n), make_uow())

    one(0, -1)  # create the system accounts and the chain head outside the timing
    return run(clients, SECONDS, one)


def writer_path(
    make_uow: Callable[[], PointsUnitOfWork], communities: list[str], clients: int, depth: int = 1
) -> tuple[list[float], float]:
    """Awards through the communities' writers; `clients` clients per community, each with
    `depth` awards waiting at once (1: one call at a time; 64: a consumer's XREADGROUP batch)."""
    writer = CommunityWriter(make_uow, communities_at_once=len(communities))

    def one(client: int, n: int) -> None:
        community = communities[client % len(communities)]
        cmds = [award(community, client, n * depth + k) for k in range(depth)]
        answers = [
            writer.submit(community, lambda uow, cmd=cmd: earning.award_for_session(cmd, uow))
            for cmd in cmds
        ]
        for answer in answers:
            answer.result()

    for k, _ in enumerate(communities):
        one(k, -1)
    writer.batches = writer.items = 0
    latencies = run(clients * len(communities), SECONDS, one)
    writer.close()
    return [x for x in latencies for _ in range(depth)], writer.items / max(writer.batches, 1)


def reservation_round_trips(
    make_uow: Callable[[], PointsUnitOfWork], community: str, clients: int, through_writer: bool
) -> list[float]:
    """Reserve one hundredth of a point and commit it, one call after the other per client:
    through the community's writer, or one unit of work and one commit per call."""
    writer = CommunityWriter(make_uow)
    seeds = [
        dataclasses.replace(award(community, 0, r), resident_id=f"r-{r}", duration_seconds=36_000)
        for r in range(RESIDENTS)
    ]
    for answer in [writer.submit(community, partial(earning.award_for_session, s)) for s in seeds]:
        answer.result()

    def call(work: Callable[[PointsUnitOfWork], Reservation]) -> Reservation:
        return writer.write(community, work) if through_writer else work(make_uow())

    def one(client: int, n: int) -> None:
        resident = f"r-{(client * 7919 + n) % RESIDENTS}"
        held = call(
            partial(
                reservations.reserve,
                commands.Reserve(
                    SYSTEM, uuid.uuid4().hex, community, resident, 1, Sink.REWARDS, "bench", 600
                ),
            )
        )
        settle = commands.SettleReservation(SYSTEM, uuid.uuid4().hex, community, held.id, True)
        call(partial(reservations.settle_reservation, settle))

    latencies = run(clients, SECONDS, one)
    writer.close()
    return latencies


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


def verdict(ratio: float) -> str:
    """The ratio against the target, said plainly."""
    return f"target >= {TARGET:g}x: {'met' if ratio >= TARGET else 'MISSED'}"


def main() -> None:
    """Create a scratch database, run every path, print the figures and the ratios."""
    with scratch_database("bench_ledger") as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        migrate(url, MIGRATIONS)
        plumbing = sql_plumbing(url, orm.runtime, "bench-points.events", events.encode)
        make_uow = uow_factory(plumbing)
        many = [f"c-bench-{k}" for k in range(COMMUNITIES)]
        print(f"ledger awards, {SECONDS:.0f} s per run, one PostgreSQL, {CLIENTS} clients each")
        baseline = report(
            f"raw SQL baseline, {CLIENTS} clients", raw_baseline(dsn, CLIENTS), SECONDS
        )
        old = report(
            "old path (commit per award), 1 community",
            per_transaction_path(make_uow, "c-bench-old", CLIENTS),
            SECONDS,
        )
        print(f"    {verified(make_uow, ['c-bench-old'])}")
        latencies, batch = writer_path(make_uow, ["c-bench"], CLIENTS)
        one = report("service path (writer), 1 community", latencies, SECONDS)
        print(f"    mean batch {batch:.1f}; {verified(make_uow, ['c-bench'])}")
        latencies, batch = writer_path(make_uow, many, CLIENTS)
        ten = report(f"service path (writer), {COMMUNITIES} communities", latencies, SECONDS)
        print(f"    mean batch {batch:.1f}; {verified(make_uow, many)}")
        deep = [f"c-deep-{k}" for k in range(COMMUNITIES)]
        latencies, batch = writer_path(make_uow, deep[:1], CLIENTS, DEPTH)
        one_deep = report(f"writer, 1 community, {DEPTH} waiting per client", latencies, SECONDS)
        print(f"    mean batch {batch:.1f}; {verified(make_uow, deep[:1])}")
        latencies, batch = writer_path(make_uow, deep, CLIENTS, DEPTH)
        ten_deep = report(
            f"writer, {COMMUNITIES} communities, {DEPTH} waiting per client", latencies, SECONDS
        )
        print(f"    mean batch {batch:.1f}; {verified(make_uow, deep)}")
        held_old = report(
            "reservation round trip, commit per call",
            reservation_round_trips(make_uow, "c-hold-old", CLIENTS, through_writer=False),
            SECONDS,
            "round trips/s",
        )
        print(f"    {verified(make_uow, ['c-hold-old'])}")
        held = report(
            "reservation round trip, through the writer",
            reservation_round_trips(make_uow, "c-hold", CLIENTS, through_writer=True),
            SECONDS,
            "round trips/s",
        )
        print(f"    {verified(make_uow, ['c-hold'])}")
        plumbing.engine.dispose()
    print("rows of issue 17 (ratio to the raw baseline of this run):")
    print(f"  1 community:   {one / baseline:5.2f}x  ({verdict(one / baseline)})")
    print(
        f"  {COMMUNITIES} communities: {ten / baseline:5.2f}x  ({verdict(ten / baseline)}); "
        f"scaling {ten / one:.2f}x over one community"
    )
    print(f"  old path:      {old / baseline:5.2f}x (before issue 17)")
    print(f"with {DEPTH} awards waiting per client (a consumer's read: the kit consumer starts")
    print("the handlers of a read together, queues_in_order, so this is the served event path):")
    print(f"  1 community:   {one_deep / baseline:5.2f}x  ({verdict(one_deep / baseline)})")
    print(
        f"  {COMMUNITIES} communities: {ten_deep / baseline:5.2f}x  "
        f"({verdict(ten_deep / baseline)}); scaling {ten_deep / one_deep:.2f}x"
    )
    print(f"reservation round trips (reserve + commit, {CLIENTS} clients, 1 community):")
    print(
        f"  through the writer {held:.0f}/s, commit per call {held_old:.0f}/s: "
        f"{held / held_old:.2f}x; {2 * held / baseline:.2f}x the raw baseline in transactions"
    )


if __name__ == "__main__":
    # Telemetry as a served process sets it up with nothing to export (bench_signout's
    # services run so): no span is recorded and no SQL statement traced.
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    configure_telemetry("linli-points")
    main()
