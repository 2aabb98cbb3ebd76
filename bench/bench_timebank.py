"""Time-bank benchmark: transfers per second between two communities, 8 clients, beside a local
reservation round trip in the same run (python bench/bench_timebank.py).

Two points processes, each with its own database and CA, peers over mutual TLS (the same
federation the integration test starts). A transfer is CreateTransfer by a resident of one
community to a resident of the other: hold, the peer's AcceptTransfer, commit, each its own
commit. The local round trip is what a redemption does in one community: CreateReservation and
CommitReservation by its rewards service. Afterwards both ledgers verify and the clearing
accounts mirror each other.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from linli.points.v1 import points_service_pb2 as pts
from linli.points.v1 import points_service_pb2_grpc as pts_grpc
from linli.points.v1 import timebank_service_pb2 as tb

from linli_kit import auth
from linli_kit.scratch import postgres_admin_url, redis_url

CLIENTS = 8
SECONDS = 6.0
NAMES = ("bench-east", "bench-west")
TEST = Path(__file__).resolve().parent.parent / "tests" / "integration" / "test_timebank.py"


def _federation_module() -> object:
    """The integration test's federation (started_federation), loaded by path."""
    spec = importlib.util.spec_from_file_location("timebank_federation", TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(clients: int, seconds: float, one: Callable[[int, int], bool]) -> tuple[int, list[float]]:
    """Call one(client, n) in a loop on each client thread for a while; successes, latencies."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def client(c: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            done[c] += one(c, n)
            latencies[c].append(time.perf_counter() - started)
            n += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), sorted(x for each in latencies for x in each)


def _row(name: str, count: int, latencies: list[float], seconds: float) -> float:
    rate = count / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"  {name:<44} {rate:8.1f}/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    return rate


def main() -> None:
    """Start two communities, measure both paths, check the books."""
    federation = _federation_module()
    with (
        tempfile.TemporaryDirectory() as folder,
        federation.started_federation(  # type: ignore[attr-defined]
            postgres_admin_url(),
            redis_url(),
            Path(folder),
            names=NAMES,
            credit_limit=10**9,
            residents=CLIENTS,
        ) as world,
    ):
        east, west = world[NAMES[0]], world[NAMES[1]]
        banks = [east.bank(r) for r in east.residents]

        def transfer(c: int, n: int) -> bool:
            request = tb.CreateTransferRequest(
                parent=f"communities/{east.name}/residents/{east.residents[c]}",
                recipient=f"communities/{west.name}/residents/{west.residents[c]}",
                amount_centipoints=1,
                request_id=uuid.uuid4().hex,
            )
            reply = banks[c].CreateTransfer(request, timeout=30)
            return bool(reply.transfer.state == tb.TRANSFER_STATE_COMMITTED)

        rewards_tls = east.ca.tls_files(f"spiffe://linli/{east.name}/rewards")
        rewards = pts_grpc.PointsServiceStub(auth.channel(east.process.address, rewards_tls))

        def reservation(c: int, n: int) -> bool:
            held = rewards.CreateReservation(
                pts.CreateReservationRequest(
                    parent=f"communities/{east.name}/residents/{east.residents[c]}",
                    amount_centipoints=1,
                    sink=pts.SINK_REWARDS,
                    memo="bench",
                    ttl_seconds=60,
                    request_id=uuid.uuid4().hex,
                ),
                timeout=30,
            ).reservation
            rewards.CommitReservation(
                pts.CommitReservationRequest(name=held.name, request_id=uuid.uuid4().hex),
                timeout=30,
            )
            return True

        print(f"time bank, {CLIENTS} clients, {SECONDS:.0f} s each, two communities on mTLS")
        local_count, local_latencies = run(CLIENTS, SECONDS, reservation)
        local = _row(
            "local reservation round trip (reserve+commit)", local_count, local_latencies, SECONDS
        )
        sent_count, sent_latencies = run(CLIENTS, SECONDS, transfer)
        sent = _row(
            "transfers between two communities (committed)", sent_count, sent_latencies, SECONDS
        )
        print(f"  ratio transfers / local round trips: {sent / local:.2f}")
        world.wait_settled()
        for community in (east, west):
            auditor = community.points("auditor", "committee_member")
            verified = auditor.VerifyLedger(
                pts.VerifyLedgerRequest(parent=f"communities/{community.name}")
            )
            assert verified.ok, list(verified.breaks)
        east_clearing = east.rows(
            f"SELECT balance FROM accounts WHERE holder = 'system-clearing-{west.name}'"
        )[0].balance
        west_clearing = west.rows(
            f"SELECT balance FROM accounts WHERE holder = 'system-clearing-{east.name}'"
        )[0].balance
        assert east_clearing == -west_clearing >= sent_count, (east_clearing, west_clearing)
        print(f"  both ledgers verify; clearing {east_clearing} / {west_clearing} mirror")


if __name__ == "__main__":
    main()
