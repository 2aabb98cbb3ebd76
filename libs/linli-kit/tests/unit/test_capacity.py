"""A server at capacity refuses the next call at once (RESOURCE_EXHAUSTED) and serves the rest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from google.protobuf.empty_pb2 import Empty
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from linli_kit import auth
from linli_kit.grpc_server import Capacity, GrpcApp, RunningApp, start

SERVICE = "linli.test.v1.BusyService"
NAME = "busy"


class Busy:
    """Calls that wait until released, so a test decides how many are in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = 0

    async def slow(self, request: Empty, context: grpc.aio.ServicerContext) -> StringValue:
        self.waiting += 1
        await self.release.wait()
        return StringValue(value="served")

    async def hold(
        self, request: Empty, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[StringValue]:
        yield StringValue(value="open")
        await asyncio.Event().wait()  # until the caller hangs up

    def handler(self) -> grpc.GenericRpcHandler:
        wire = {
            "request_deserializer": Empty.FromString,
            "response_serializer": StringValue.SerializeToString,
        }
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Slow": grpc.unary_unary_rpc_method_handler(self.slow, **wire),
                "Hold": grpc.unary_stream_rpc_method_handler(self.hold, **wire),
            },
        )


def _sample(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": NAME, "kind": kind}) or 0.0


@pytest.fixture
async def busy() -> AsyncIterator[tuple[Busy, RunningApp]]:
    """A server serving at most two calls and one stream at once."""
    busy = Busy()
    app = GrpcApp(
        NAME,
        lambda server: server.add_generic_rpc_handlers([busy.handler()]),
        {SERVICE: {"Slow": auth.public(), "Hold": auth.public()}},
        auth.PublishedKeys(lambda: {"keys": []}),
    )
    running = await start(app, "127.0.0.1", 0, capacity=Capacity(calls=2, streams=1))
    yield busy, running
    busy.release.set()
    await running.stop(0)


async def _wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {what}")


async def test_the_call_beyond_capacity_is_refused_at_once(
    busy: tuple[Busy, RunningApp],
) -> None:
    service, running = busy
    shed_before = _sample("linli_rpc_shed_total", "call")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        slow = channel.unary_unary(
            f"/{SERVICE}/Slow",
            request_serializer=Empty.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        admitted = [asyncio.ensure_future(slow(Empty())) for _ in range(2)]
        await _wait_for(lambda: service.waiting == 2, "two calls in flight")
        assert _sample("linli_rpc_in_flight", "call") == 2

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await slow(Empty(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.value.details() == "busy is at capacity (call budget 2); retry after 1 s"
        assert _sample("linli_rpc_shed_total", "call") == shed_before + 1
        assert service.waiting == 2  # the refused call never reached the handler

        # The probes still answer: health is outside the budget.
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

        service.release.set()
        assert [r.value for r in await asyncio.gather(*admitted)] == ["served", "served"]
        assert (await slow(Empty(), timeout=5)).value == "served"
        assert _sample("linli_rpc_in_flight", "call") == 0


async def test_streams_have_a_budget_of_their_own(busy: tuple[Busy, RunningApp]) -> None:
    service, running = busy
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        hold = channel.unary_stream(
            f"/{SERVICE}/Hold",
            request_serializer=Empty.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        slow = channel.unary_unary(
            f"/{SERVICE}/Slow",
            request_serializer=Empty.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        watching = hold(Empty())
        assert (await watching.read()).value == "open"
        assert _sample("linli_rpc_in_flight", "stream") == 1

        second = hold(Empty(), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await second.read()
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "(stream budget 1)" in (refused.value.details() or "")

        service.release.set()  # an open stream takes nothing from the calls' budget
        assert (await asyncio.gather(slow(Empty()), slow(Empty()))) == [
            StringValue(value="served")
        ] * 2

        watching.cancel()
        await _wait_for(lambda: _sample("linli_rpc_in_flight", "stream") == 0, "the stream out")
        third = hold(Empty(), timeout=5)
        assert (await third.read()).value == "open"
        third.cancel()
