"""What authentication costs per unary call (python bench/bench_auth.py).

One points app on PostgreSQL, served three ways in the same process, GetBalance called in turn
on each: without the auth interceptor (the principal set by a stand-in that checks nothing:
the baseline), with a bearer token verified and the policy table checked (plaintext), and the
same over mutual TLS. Reported: p50 and p99 and the ratio of each mean to the baseline's.
Target (issue 10): authentication adds < 10 % to GetBalance.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from linli.points.v1 import points_service_pb2 as pb
from linli.points.v1 import points_service_pb2_grpc as pb_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from linli_kit import auth
from linli_kit.db import migrate
from linli_kit.grpc_server import (
    ErrorsAndMetricsInterceptor,
    GrpcApp,
    Transport,
    ValidationInterceptor,
    start,
)
from linli_kit.interception import rewrapped
from linli_kit.pki import DevelopmentCA
from linli_kit.principals import Kind, Principal, acting_as, done_acting
from linli_kit.scratch import scratch_database
from linli_kit.testing import Credentials
from linli_points.bootstrap import build_app
from linli_points.config import PointsSettings
from linli_points.entrypoints.cli import MIGRATIONS

CALLS, ROUNDS = 600, 5
COMMUNITY, RESIDENT = "bench", "r1"
TARGET = 1.10


class FixedPrincipal(grpc.aio.ServerInterceptor):
    """The baseline's stand-in for authentication: every call is the resident, unchecked."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        return rewrapped(handler, self._unary, lambda inner: inner)

    def _unary(self, inner: Any) -> Any:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token = acting_as(self.principal)
            try:
                return await inner(request, context)
            finally:
                done_acting(token)

        return call


async def unauthenticated(app: GrpcApp, principal: Principal) -> tuple[grpc.aio.Server, int]:
    """The app's servicers behind the kit's other interceptors, without authentication."""
    server = grpc.aio.server(
        interceptors=[
            aio_server_interceptor(),
            ErrorsAndMetricsInterceptor(app.name),
            FixedPrincipal(principal),
            ValidationInterceptor(),
        ]
    )
    app.register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def timed_calls(stub: pb_grpc.PointsServiceStub, metadata: auth.Metadata) -> list[float]:
    """Latencies (s) of CALLS GetBalance calls one after another."""
    request = pb.GetBalanceRequest(name=f"communities/{COMMUNITY}/residents/{RESIDENT}/balance")
    await stub.GetBalance(request, metadata=metadata)  # warm the channel and the caches
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        await stub.GetBalance(request, metadata=metadata)
        samples.append(time.perf_counter() - started)
    return samples


async def main() -> None:
    """Serve the three ways, interleave the rounds, print each beside the baseline."""
    credentials = Credentials(auth.SigningKey.generate("bench"), DevelopmentCA.create())
    resident = Principal(
        Kind.PERSON, f"communities/{COMMUNITY}/residents/{RESIDENT}", COMMUNITY, frozenset()
    )
    with scratch_database("bench_auth") as url:
        migrate(url, MIGRATIONS)
        settings = PointsSettings(
            database_url=url, redis_url="redis://127.0.0.1:6379/0", scheduler_enabled=False
        )
        app = build_app(settings, verifier=credentials.verifier())
        plain = await start(app, "127.0.0.1", 0)
        tls = await start(
            build_app(settings, verifier=credentials.verifier()),
            "127.0.0.1",
            0,
            Transport(credentials.tls(COMMUNITY, "points")),
        )
        baseline_server, baseline_port = await unauthenticated(app, resident)
        token = credentials.person(COMMUNITY, RESIDENT)
        client = credentials.tls(COMMUNITY, "gateway").channel_credentials()
        channels = {
            "no authentication (baseline)": (
                grpc.aio.insecure_channel(f"127.0.0.1:{baseline_port}"),
                (),
            ),
            "bearer token, plaintext": (
                grpc.aio.insecure_channel(f"127.0.0.1:{plain.port}"),
                token,
            ),
            "bearer token, mutual TLS": (
                grpc.aio.secure_channel(f"127.0.0.1:{tls.port}", client),
                token,
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in channels}
        for _ in range(ROUNDS):  # interleaved, so that the machine's noise falls on every row
            for name, (channel, metadata) in channels.items():
                samples[name] += await timed_calls(pb_grpc.PointsServiceStub(channel), metadata)
        for channel, _ in channels.values():
            await channel.close()
        await baseline_server.stop(0)
        for running in (plain, tls):
            await running.stop(0)
    base = statistics.fmean(samples["no authentication (baseline)"])
    print(f"GetBalance on PostgreSQL, {ROUNDS} x {CALLS} calls each, interleaved:")
    for name, latencies in samples.items():
        ordered = sorted(latencies)
        mean = statistics.fmean(latencies)
        verdict = (
            ""
            if name.startswith("no ")
            else (f"   target <= {TARGET:.2f}: {'met' if mean / base <= TARGET else 'MISSED'}")
        )
        print(
            f"  {name:<30} p50 {ordered[len(ordered) // 2] * 1e3:6.2f} ms   "
            f"p99 {ordered[int(len(ordered) * 0.99)] * 1e3:6.2f} ms   "
            f"ratio {mean / base:5.2f}{verdict}"
        )


if __name__ == "__main__":
    asyncio.run(main())
