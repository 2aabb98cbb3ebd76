"""A community with 1,000,000 postings (python bench/bench_ledger_size.py).

The ledger of one community is filled with 250,000 awards (four postings each) through the
points ledger's own post and flush (chained and hashed as served; no inbox, it is a fill), a
second community with 250 awards is the baseline. For both, in the same run: VerifyLedger and
the quarterly audit report (seconds), GetBalance and ListTransactions (first page) through
the service layer's queries (p99 over random residents). Targets (issue 17): verify and audit
<= 30 s, GetBalance and ListTransactions p99 < 10 ms on the big community. After the fill the
database is vacuumed and analysed once, as autovacuum would have by then (the local server runs
with autovacuum off). Verify and audit also print this process's CPU seconds: on a machine
shared with other work the wall time includes waiting for a core. LINLI_BENCH_AWARDS sets the big
community's awards (a smaller fill to iterate on).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from linli_kit.db import migrate, sql_plumbing
from linli_kit.principals import SYSTEM
from linli_kit.scratch import scratch_database
from linli_points.adapters import events, orm
from linli_points.bootstrap import sql_uow_factory
from linli_points.domain import earning
from linli_points.domain.rules import DEFAULT_CATALOG, ServiceType
from linli_points.entrypoints.cli import MIGRATIONS
from linli_points.service_layer import queries
from linli_points.service_layer.ports import PointsUnitOfWork

BIG, SMALL = int(os.environ.get("LINLI_BENCH_AWARDS", 250_000)), 250  # four postings each
RESIDENTS = 2_000
BATCH = 5_000
READS = 300
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
TARGET_SECONDS, TARGET_MS = 30.0, 10.0


def fill(make_uow: Callable[[], PointsUnitOfWork], community: str, awards: int) -> float:
    """Post `awards` hourly awards in batches; returns the awards per second of the fill."""
    book = DEFAULT_CATALOG.for_community(community)
    started = time.perf_counter()
    for first in range(0, awards, BATCH):
        with make_uow() as uow:
            for n in range(first, min(first + BATCH, awards)):
                served = earning.ServedSession(
                    community_id=community,
                    resident_id=f"r-{n % RESIDENTS}",
                    session=f"communities/{community}/activities/a/sessions/s{n}",
                    service_type=ServiceType.REGULAR,
                    duration_seconds=3600,
                    signed_in_at=START + timedelta(minutes=n % 100_000),
                    source_id=str(uuid.uuid4()),
                )
                for transaction in earning.session_awards(
                    book, served, same_day=list, emergency=False
                ):
                    uow.ledger.post(transaction)
            uow.commit()
    return awards / (time.perf_counter() - started)


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU seconds (this process) one call takes, and its result."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - started, time.process_time() - cpu, result


def p99_ms(call: Callable[[str], object]) -> float:
    """p99 of a call over random residents, in milliseconds."""
    times = []
    for _ in range(READS):
        resident = f"r-{random.randrange(RESIDENTS)}"
        started = time.perf_counter()
        call(resident)
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 99) * 1000)


def measure(make_uow: Callable[[], PointsUnitOfWork], community: str) -> dict[str, float]:
    """Verify, audit, GetBalance and ListTransactions figures for one community."""
    verify_s, verify_cpu, verification = timed(
        lambda: queries.verify_ledger(SYSTEM, community, make_uow())
    )
    if not verification.ok:  # type: ignore[attr-defined]
        raise SystemExit(f"VerifyLedger failed for {community}")
    audit_s, audit_cpu, report = timed(
        lambda: queries.audit_report(SYSTEM, community, 2026, 1, make_uow())
    )
    if not report["integrity"]["ok"]:  # type: ignore[index]
        raise SystemExit(f"the audit report's integrity check failed for {community}")
    return {
        "verify_s": verify_s,
        "verify_cpu": verify_cpu,
        "audit_s": audit_s,
        "audit_cpu": audit_cpu,
        "balance_ms": p99_ms(lambda r: queries.get_balance(SYSTEM, community, r, make_uow())),
        "list_ms": p99_ms(
            lambda r: queries.list_transactions(SYSTEM, community, r, 0, 20, make_uow())
        ),
        "transactions": verification.transactions,  # type: ignore[attr-defined]
    }


def main() -> None:
    """Fill both communities, measure both, print each row beside its baseline."""
    with scratch_database("bench_ledger_size") as url:
        migrate(url, MIGRATIONS)
        plumbing = sql_plumbing(url, orm.runtime, "bench-points.events", events.encode)
        make_uow = sql_uow_factory(plumbing)
        rate = fill(make_uow, "c-big", BIG)
        fill(make_uow, "c-small", SMALL)
        print(f"filled {BIG} awards ({4 * BIG} postings) at {rate:.0f} awards/s")
        with plumbing.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
        big, small = measure(make_uow, "c-big"), measure(make_uow, "c-small")
        plumbing.engine.dispose()
    print(f"community of {4 * BIG:,} postings beside one of {4 * SMALL:,} (same run):")
    for key, name, target in [
        ("verify_s", "VerifyLedger, s", TARGET_SECONDS),
        ("audit_s", "quarterly audit report, s", TARGET_SECONDS),
        ("balance_ms", "GetBalance p99, ms", TARGET_MS),
        ("list_ms", "ListTransactions p99, ms", TARGET_MS),
    ]:
        verdict = "met" if big[key] <= target else "MISSED"
        cpu = key.removesuffix("_s") + "_cpu"
        spent = f"   (cpu s {big[cpu]:.2f} / {small[cpu]:.2f})" if cpu in big else ""
        print(
            f"  {name:<28} {big[key]:9.2f}   baseline {small[key]:8.2f}   "
            f"ratio {big[key] / small[key]:8.1f}x   target <= {target:g}: {verdict}{spent}"
        )
    print(
        f"  chain verified: {big['transactions']:.0f} and {small['transactions']:.0f} transactions"
    )


if __name__ == "__main__":
    main()
