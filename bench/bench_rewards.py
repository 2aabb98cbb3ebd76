"""Redemptions per second through the rewards saga, beside a bare points reservation
(python bench/bench_rewards.py).

identity, attendance, points and rewards run as real processes on PostgreSQL and Redis, on
mutual TLS (the local servers, or LINLI_TEST_POSTGRES / LINLI_TEST_REDIS). RESIDENTS residents
are registered through identity; each is given AWARD points by an award posted straight into
the points ledger with points' own ledger writer (the real way, a sign-in sheet, earns at most
8 points a day). One item costs PRICE and holds stock for the whole run, without limits.

The baseline, in the same run: a bare CreateReservation round trip to points, as the rewards
service, at CLIENTS concurrent clients; those reservations are voided before the measured run.
Measured: Redeem through the rewards process at CLIENTS concurrent clients, each a thread with
its own residents and channel, calling as the resident. A redemption is two points calls
(reserve, commit) and three local transactions, so the ratio to the baseline is below 1.
Afterwards every redemption must be ACTIVE, the stock and the balances must have fallen by
exactly what was redeemed, nothing may stay reserved, and VerifyLedger must pass.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import redis
import sqlalchemy as sa
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.rewards.v1 import rewards_service_pb2 as rwd
from linli.rewards.v1 import rewards_service_pb2_grpc as rwd_grpc

from linli_kit import auth
from linli_kit.db import sql_plumbing
from linli_kit.pki import DevelopmentCA
from linli_kit.processes import start_all, stop_all
from linli_kit.scratch import create_database, drop_database, postgres_admin_url, redis_url
from linli_kit.testing import STACK_COMMUNITY, Credentials, Stack, secure_processes
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory
from linli_points.domain.ledger import RuleKind
from linli_points.domain.rules import award

POSTGRES, REDIS = postgres_admin_url(), redis_url()
C = STACK_COMMUNITY
PARENT = f"communities/{C}"
CLIENTS = 8
# Redeem allows a caller 10 at once, then 30 a minute: no resident is asked more than 10
# times over the run, so the bench measures the saga, not the rate limiter.
PER_RESIDENT = 10
RESIDENTS = 320  # 40 per client
# Each run stops at its count or its seconds, whichever comes first (the whole bench stays
# under two minutes on a loaded machine); the ratio compares rates, not counts.
REDEMPTIONS = 3_000  # spread evenly: nobody asks more than PER_RESIDENT times
REDEEM_SECONDS = 30.0
BASELINE_CALLS = 2_000
BASELINE_SECONDS = 15.0
WARMUP = 2  # calls per client before each timed run (their results are checked, not timed)
PRICE = 100  # hundredths of a point
AWARD = 100_000 * 100  # each resident's points, in hundredths
STOCK = 1_000_000
SETUP_THREADS = 8
SERVICES = ("identity", "attendance", "points", "rewards")


def percentile_ms(samples: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(samples, q) * 1000.0)


def concurrently(
    work: list[list[Any]], call: Callable[[int, Any], object], seconds: float = float("inf")
) -> tuple[list[float], float]:
    """Run `call(client, job)` over each client's jobs, one thread per client, until the jobs
    or the seconds run out; the duration of every call and the wall time of the whole."""
    durations: list[list[float]] = [[] for _ in work]
    go = threading.Barrier(len(work) + 1)
    deadline = [float("inf")]

    def client(k: int) -> None:
        go.wait()
        for job in work[k]:
            started = time.perf_counter()
            if started > deadline[0]:
                return
            call(k, job)
            durations[k].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(work))]
    for t in threads:
        t.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    go.wait()
    for t in threads:
        t.join()
    return [d for per_client in durations for d in per_client], time.perf_counter() - started


def give_points(database_url: str, prefix: str, residents: list[str]) -> None:
    """Post an award of AWARD to each resident with points' own ledger writer, in one commit."""
    plumbing = sql_plumbing(database_url, orm.runtime, f"{prefix}points.events", events.encode)
    now = datetime.now(UTC)
    with sql_uow_factory(plumbing)() as uow:
        for resident in residents:
            uow.ledger.post(
                award(
                    community_id=C,
                    resident_id=resident.rpartition("/")[2],
                    amount=AWARD,
                    rule_id="bench-seed",
                    source_id=str(uuid.uuid4()),
                    reason="bench: points to redeem",
                    at=now,
                    rule_kind=RuleKind.APPEAL,
                )
            )
        uow.commit()
    plumbing.engine.dispose()


def states(database_url: str) -> dict[str, int]:
    """How many redemptions of each state the rewards database holds."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT state, count(*) FROM redemptions GROUP BY state")
        ).all()
    engine.dispose()
    return {state: count for state, count in rows}


def complaints(log: Path) -> list[str]:
    """The lines of a service log at WARNING or above."""
    if not log.exists():
        return []
    pattern = re.compile(r"\b(warning|error|critical|exception|traceback)\b", re.IGNORECASE)
    return [line for line in log.read_text(errors="replace").splitlines() if pattern.search(line)]


def main() -> None:
    """Start the stack, set up residents and an item, time both runs, check, report."""
    if CLIENTS * WARMUP + REDEMPTIONS > PER_RESIDENT * RESIDENTS:
        raise SystemExit("more redemptions than the residents may ask for without waiting")
    folder = Path(tempfile.mkdtemp(prefix="bench-rewards-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    credentials = Credentials(auth.SigningKey.generate("bench-key"), DevelopmentCA.create())
    urls: dict[str, str] = {}

    def settings_for(name: str) -> dict[str, str]:
        urls[name] = create_database(POSTGRES, f"bench_{name}")
        return {
            "database_url": urls[name],
            "redis_url": REDIS,
            "stream_prefix": prefix,
            "log_level": "WARNING",
        }

    processes = secure_processes(settings_for, credentials, folder)
    stack = Stack(processes, credentials)
    failures: list[str] = []
    try:
        start_all(list(processes.values()))
        staff = stack.person(stack.bootstrap_staff(), "social_worker")
        identity = idn_grpc.IdentityServiceStub(stack.channel("identity"))
        points = pts_grpc.PointsServiceStub(stack.channel("points"))
        rewards = rwd_grpc.RewardsServiceStub(stack.channel("rewards"))

        started = time.perf_counter()

        def register(i: int) -> str:
            return identity.RegisterResident(
                idn.RegisterResidentRequest(
                    parent=PARENT,
                    display_name=f"r{i}",
                    phone=f"139{i:08d}",
                    request_id=str(uuid.uuid4()),
                ),
                metadata=staff,
            ).resident.name

        with ThreadPoolExecutor(SETUP_THREADS) as pool:
            residents = list(pool.map(register, range(RESIDENTS)))
        give_points(urls["points"], prefix, residents)

        def balance(resident: str) -> pts.Balance:
            return points.GetBalance(
                pts.GetBalanceRequest(name=f"{resident}/balance"), metadata=staff
            ).balance

        with ThreadPoolExecutor(SETUP_THREADS) as pool:
            before = dict(zip(residents, pool.map(balance, residents), strict=True))
        short = [r for r, b in before.items() if b.yearly_centipoints != AWARD]
        if short:
            raise SystemExit(f"setup: {len(short)} residents lack their points, e.g. {short[0]}")
        item = rewards.CreateItem(
            rwd.CreateItemRequest(
                parent=PARENT,
                item_id="bench-voucher",
                item=rwd.Item(
                    title="Bench voucher",
                    kind=rwd.ITEM_KIND_VOUCHER,
                    price_centipoints=PRICE,
                    value_fen=100,
                    stock=STOCK,
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=staff,
        ).item
        print(
            f"setup: {RESIDENTS} residents registered and given {AWARD // 100:,} points each, "
            f"one item at {PRICE / 100:g} point with {STOCK:,} in stock, "
            f"in {time.perf_counter() - started:.1f} s"
        )

        # Baseline: CreateReservation as the rewards service (its certificate), then void.
        opened = [
            credentials.channel(processes["points"].address, C, "rewards") for _ in range(CLIENTS)
        ]
        as_rewards = [pts_grpc.PointsServiceStub(channel) for channel in opened]
        held: list[str] = []

        def reserve(k: int, resident: str) -> None:
            reply = as_rewards[k].CreateReservation(
                pts.CreateReservationRequest(
                    parent=resident,
                    amount_centipoints=PRICE,
                    sink=pts.SINK_REWARDS,
                    memo="bench baseline",
                    ttl_seconds=600,
                    request_id=str(uuid.uuid4()),
                )
            )
            held.append(reply.reservation.name)

        def void(k: int, name: str) -> None:
            as_rewards[k].VoidReservation(
                pts.VoidReservationRequest(
                    name=name, reason="bench baseline", request_id=str(uuid.uuid4())
                )
            )

        def spread(jobs: list[Any]) -> list[list[Any]]:
            return [jobs[k::CLIENTS] for k in range(CLIENTS)]

        concurrently(spread([residents[k] for k in range(CLIENTS * WARMUP)]), reserve)
        baseline, baseline_wall = concurrently(
            spread([residents[n % RESIDENTS] for n in range(BASELINE_CALLS)]),
            reserve,
            BASELINE_SECONDS,
        )
        voids, void_wall = concurrently(spread(list(held)), void)

        # Measured: Redeem, each client with its own residents, channel and tokens.
        mine = [residents[k::CLIENTS] for k in range(CLIENTS)]
        tokens = {r: stack.person(r) for r in residents}
        own = [credentials.channel(processes["rewards"].address, C) for _ in range(CLIENTS)]
        opened += own
        stubs = [rwd_grpc.RewardsServiceStub(channel) for channel in own]
        redeemed: Counter[str] = Counter()
        refused: Counter[str] = Counter()

        def redeem(k: int, resident: str) -> None:
            try:
                stubs[k].Redeem(
                    rwd.RedeemRequest(
                        parent=resident, item=item.name, request_id=str(uuid.uuid4())
                    ),
                    metadata=tokens[resident],
                    timeout=30,
                )
            except grpc.RpcError as exc:
                refused[f"{exc.code().name}: {exc.details()}"] += 1
                return
            redeemed[resident] += 1

        def rounds(count: int, skip: int = 0) -> list[list[str]]:
            """Each client's residents in turn, `count` calls in all, after `skip` rounds."""
            per_client = count // CLIENTS
            return [
                [mine[k][(skip + n) % len(mine[k])] for n in range(per_client)]
                for k in range(CLIENTS)
            ]

        concurrently(rounds(CLIENTS * WARMUP), redeem)
        measured, measured_wall = concurrently(
            rounds(REDEMPTIONS, skip=WARMUP), redeem, REDEEM_SECONDS
        )

        # After the run: what the services hold must add up to what was redeemed.
        count = sum(redeemed.values())
        held_states = states(urls["rewards"])
        if refused:
            failures.append(f"{sum(refused.values())} redemptions refused: {dict(refused)}")
        if held_states != {"active": count}:
            failures.append(f"redemptions by state {held_states}, expected {{'active': {count}}}")

        def listed(resident: str) -> Counter[int]:
            found: Counter[int] = Counter()
            token = ""
            while True:
                page = rewards.ListRedemptions(
                    rwd.ListRedemptionsRequest(parent=resident, page_size=100, page_token=token),
                    metadata=staff,
                )
                found.update(r.state for r in page.redemptions)
                token = page.next_page_token
                if not token:
                    return found

        with ThreadPoolExecutor(SETUP_THREADS) as pool:
            lists = dict(zip(residents, pool.map(listed, residents), strict=True))
            after = dict(zip(residents, pool.map(balance, residents), strict=True))
        for resident in residents:
            n = redeemed[resident]
            if lists[resident] != Counter({rwd.REDEMPTION_STATE_ACTIVE: n} if n else {}):
                failures.append(f"{resident} lists {dict(lists[resident])}, redeemed {n}")
            if after[resident].yearly_centipoints != AWARD - n * PRICE:
                failures.append(
                    f"{resident} holds {after[resident].yearly_centipoints}, "
                    f"expected {AWARD - n * PRICE} after {n} redemptions"
                )
            if after[resident].reserved_centipoints:
                failures.append(f"{resident} still has {after[resident].reserved_centipoints} held")
        stock = rewards.GetItem(rwd.GetItemRequest(name=item.name), metadata=staff).item.stock
        if stock != STOCK - count:
            failures.append(f"stock {stock}, expected {STOCK - count} after {count} redemptions")
        verification = points.VerifyLedger(pts.VerifyLedgerRequest(parent=PARENT), metadata=staff)
        if not verification.ok:
            failures.append(f"VerifyLedger: {list(verification.breaks[:3])}")
        for channel in opened:
            channel.close()
    finally:
        stack.close()
        stop_all(list(processes.values()))
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
        for url in urls.values():
            drop_database(POSTGRES, url)
        shutil.rmtree(folder / "pki", ignore_errors=True)  # the run's keys; the logs stay

    reservations_per_s = len(baseline) / baseline_wall
    redemptions_per_s = len(measured) / measured_wall
    base_p50, base_p99 = percentile_ms(baseline, 50), percentile_ms(baseline, 99)
    p50, p99 = percentile_ms(measured, 50), percentile_ms(measured, 99)
    print(f"{CLIENTS} clients at once, one community, price {PRICE} centipoints:")
    print(f"  {'':<44} {'calls':>6} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    rows = (
        ("baseline: points CreateReservation", baseline, baseline_wall),
        ("  then VoidReservation of each of them", voids, void_wall),
        ("Redeem through rewards (the saga)", measured, measured_wall),
    )
    for name, samples, wall in rows:
        print(
            f"  {name:<44} {len(samples):>6} {len(samples) / wall:>8.0f} "
            f"{percentile_ms(samples, 50):>8.2f} {percentile_ms(samples, 99):>8.2f}"
        )
    print(
        f"ratio redemptions/s ÷ reservations/s: {redemptions_per_s / reservations_per_s:.2f}; "
        f"p50 {p50 / base_p50:.1f}x, p99 {p99 / base_p99:.1f}x the baseline's"
    )
    print(
        f"after the run: {count} redeemed ({CLIENTS * WARMUP} of them warm-up), "
        f"states {held_states}; stock {STOCK:,} -> {stock:,}; "
        f"balances fell by {sum(AWARD - a.yearly_centipoints for a in after.values())} "
        f"centipoints; VerifyLedger ok={verification.ok} "
        f"({verification.transactions_checked} transactions, "
        f"{verification.accounts_checked} accounts)"
    )
    for name in SERVICES:
        lines = complaints(folder / f"{name}.log")
        if lines:
            print(f"{name}.log: {len(lines)} lines at WARNING or above, e.g. {lines[0][:200]}")
    print(f"logs in {folder}")
    sys.stdout.flush()
    if failures:
        raise SystemExit("invariants broken after the run:\n  " + "\n  ".join(failures[:20]))


if __name__ == "__main__":
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    main()
