"""Sign-out to balance: how long until a sign-out's points show (python bench/bench_signout.py).

identity, attendance and points run as real processes on PostgreSQL and Redis (the local
servers, or LINLI_TEST_POSTGRES / LINLI_TEST_REDIS). Residents sign out at a steady rate;
for each, the clock runs from sending SignOut until GetBalance shows the award (outbox, relay,
stream, consumer, ledger). The baseline, measured in the same run, is a bare GetBalance round
trip: the ratio says how many plain gRPC calls the whole event path costs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import numpy as np
from linli.attendance.v1 import attendance_service_pb2 as att
from linli.attendance.v1 import attendance_service_pb2_grpc as att_grpc
from linli.common.v1 import service_type_pb2
from linli.identity.v1 import identity_service_pb2 as idn
from linli.identity.v1 import identity_service_pb2_grpc as idn_grpc
from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc

from linli_kit.processes import ServiceProcess, free_port, start_all, stop_all
from linli_kit.scratch import create_database, drop_database, postgres_admin_url, redis_url

POSTGRES, REDIS = postgres_admin_url(), redis_url()
RATE = 15.0  # sign-outs per second
SIGN_OUTS = 150
BASELINE_CALLS = 300
POLL = 0.002  # seconds between balance reads while waiting for one award
# 1 h of regular service is 1 point; the first participation bonus may come with it.
AWARD = 100
TIMEOUT = 10.0
C = "bench"


def percentile_ms(samples: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return float(np.percentile(samples, q) * 1000.0)


def stack(urls: list[str], logs: Path) -> dict[str, ServiceProcess]:
    """identity, attendance and points as processes, not yet started."""
    ports = {name: free_port() for name in ("identity", "attendance", "points")}
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    processes = {}
    for (name, port), url in zip(ports.items(), urls, strict=True):
        settings = {
            "database_url": url,
            "redis_url": REDIS,
            "grpc_host": "127.0.0.1",
            "grpc_port": str(port),
            "metrics_port": "0",
            "stream_prefix": prefix,
            "log_level": "WARNING",
        }
        if name == "attendance":
            settings["identity_address"] = f"127.0.0.1:{ports['identity']}"
        processes[name] = ServiceProcess(name, settings, logs / f"{name}.log")
    return processes


def balance(points: pts_grpc.PointsServiceStub, resident: str) -> int:
    """The resident's yearly balance in centipoints."""
    reply = points.GetBalance(pts.GetBalanceRequest(name=f"{resident}/balance"))
    return reply.balance.yearly_centipoints


def bench_baseline(points: pts_grpc.PointsServiceStub, resident: str) -> list[float]:
    """Seconds per bare GetBalance round trip."""
    balance(points, resident)
    times = []
    for _ in range(BASELINE_CALLS):
        start = time.perf_counter()
        balance(points, resident)
        times.append(time.perf_counter() - start)
    return times


def sign_out_to_balance(
    attendance: att_grpc.AttendanceServiceStub,
    points: pts_grpc.PointsServiceStub,
    request: att.SignOutRequest,
    resident: str,
) -> float:
    """Seconds from sending SignOut until the award shows in the balance."""
    start = time.perf_counter()
    attendance.SignOut(request)
    while balance(points, resident) < AWARD:
        if time.perf_counter() - start > TIMEOUT:
            raise RuntimeError(f"no award for {resident} within {TIMEOUT:.0f}s")
        time.sleep(POLL)
    return time.perf_counter() - start


def main() -> None:
    """Start the stack, sign everyone in, then sign out at a steady rate and report."""
    urls = [create_database(POSTGRES, f"bench_{name}") for name in ("idn", "att", "pts")]
    logs = Path(tempfile.mkdtemp(prefix="bench-signout-"))
    processes = stack(urls, logs)
    try:
        start_all(list(processes.values()))
        channels = {n: grpc.insecure_channel(p.address) for n, p in processes.items()}
        identity = idn_grpc.IdentityServiceStub(channels["identity"])
        attendance = att_grpc.AttendanceServiceStub(channels["attendance"])
        points = pts_grpc.PointsServiceStub(channels["points"])
        identity.CreateCommunity(idn.CreateCommunityRequest(community_id=C, display_name="Bench"))
        staff, *residents = (
            identity.RegisterResident(
                idn.RegisterResidentRequest(
                    parent=f"communities/{C}", display_name=f"r{i}", phone=f"138{i:08d}"
                )
            ).resident.name
            for i in range(SIGN_OUTS + 1)
        )
        begins = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        planned = att.Activity(
            title="Bench clean-up",
            kind=att.ACTIVITY_KIND_ROUTINE,
            service_type=service_type_pb2.SERVICE_TYPE_REGULAR,
        )
        planned.start_time.FromDatetime(begins)
        planned.end_time.FromDatetime(begins + timedelta(hours=1, minutes=30))
        activity = attendance.CreateActivity(
            att.CreateActivityRequest(parent=f"communities/{C}", activity=planned)
        ).activity.name

        def presence(kind: type, resident: str, at: datetime) -> att.SignOutRequest:
            request = kind(
                activity=activity,
                resident=resident,
                confirmed_by=staff,
                method=att.SIGN_IN_METHOD_STAFF_CONFIRMED,
                request_id=str(uuid.uuid4()),
            )
            request.time.FromDatetime(at)
            return request

        for resident in residents:
            attendance.SignIn(presence(att.SignInRequest, resident, begins))
        baseline = bench_baseline(points, staff)

        results: list[float] = []
        lock = threading.Lock()
        origin = time.perf_counter() + 0.2

        def one(index: int, resident: str) -> None:
            time.sleep(max(0.0, origin + index / RATE - time.perf_counter()))
            request = presence(att.SignOutRequest, resident, begins + timedelta(hours=1))
            elapsed = sign_out_to_balance(attendance, points, request, resident)
            with lock:
                results.append(elapsed)

        with ThreadPoolExecutor(max_workers=16) as pool:
            for future in [pool.submit(one, i, r) for i, r in enumerate(residents)]:
                future.result()
        for channel in channels.values():
            channel.close()
    finally:
        stop_all(list(processes.values()))
        for url in urls:
            drop_database(POSTGRES, url)

    base_p50, base_p99 = percentile_ms(baseline, 50), percentile_ms(baseline, 99)
    p50, p99 = percentile_ms(results, 50), percentile_ms(results, 99)
    print(f"sign-out -> balance at {RATE:g}/s, {len(results)} sign-outs (poll {POLL * 1000:g} ms):")
    print(
        f"  p50 {p50:8.1f} ms   p99 {p99:8.1f} ms   mean {statistics.mean(results) * 1000:8.1f} ms"
    )
    print(f"baseline GetBalance round trip, {len(baseline)} calls:")
    print(f"  p50 {base_p50:8.2f} ms   p99 {base_p99:8.2f} ms")
    print(f"ratio (sign-out -> balance p50 / GetBalance p50): {p50 / base_p50:.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
