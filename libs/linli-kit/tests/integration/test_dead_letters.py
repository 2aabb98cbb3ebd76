"""Dead letters an operator can act on: list, replay and discard by RPC and CLI, on real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest
import redis
from linli.events.v1 import envelope_pb2, identity_events_pb2
from linli.ops.v1 import operations_service_pb2 as ops
from linli.ops.v1 import operations_service_pb2_grpc as ops_grpc
from pydantic_settings import SettingsConfigDict

from linli_kit import metrics
from linli_kit.auth import with_metadata
from linli_kit.deadletters import DeadLetters
from linli_kit.grpc_server import GrpcApp, start
from linli_kit.service import run_cli
from linli_kit.settings import ServiceSettings
from linli_kit.streams import ENVELOPE_FIELD, PoisonEvent, StreamConsumer
from linli_kit.testing import assert_retry_replays, running_consumer, until

TYPE = identity_events_pb2.ResidentRegistered.DESCRIPTOR.full_name


def _envelope(event_id: str) -> bytes:
    envelope = envelope_pb2.EventEnvelope(event_id=event_id, type=TYPE, community_id="c1")
    envelope.payload.Pack(
        identity_events_pb2.ResidentRegistered(resident="communities/c1/residents/r1")
    )
    return envelope.SerializeToString()


@pytest.fixture
async def parked(servers, stream_prefix) -> AsyncIterator[tuple[str, list[str]]]:
    """Three events on `s`, each dead-lettered by a handler that refuses it; what it applied."""
    client = redis.Redis.from_url(servers.redis)
    applied: list[str] = []
    refusing = True

    async def handler(envelope: envelope_pb2.EventEnvelope) -> None:
        if refusing:
            raise PoisonEvent("resident r1 is not known yet")
        applied.append(envelope.event_id)

    consumer = StreamConsumer(
        servers.redis, f"{stream_prefix}s", "g", "c", {TYPE: handler}, block_ms=50
    )
    async with running_consumer(consumer):
        for event_id in ("e1", "e2", "e3"):
            client.xadd(f"{stream_prefix}s", {ENVELOPE_FIELD: _envelope(event_id)})
        await until(lambda: client.xlen(f"{stream_prefix}s.dead") == 3)
        await consumer.record_stats()
        assert metrics.STREAM_DEAD_LETTERS_WAITING.labels(f"{stream_prefix}s")._value.get() == 3
        refusing = False
        yield stream_prefix, applied


async def test_letters_are_listed_replayed_once_and_discarded_with_a_reason(
    servers, parked, credentials
):
    prefix, applied = parked
    client = redis.Redis.from_url(servers.redis)
    letters = DeadLetters(servers.redis, prefix, ["s"])
    app = GrpcApp("kit", lambda server: None, {}, credentials.verifier(), dead_letters=letters)
    running_app = await start(app, "127.0.0.1", 0)
    sre = credentials.person("c1", "sre-wang", "sre")
    try:
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{running_app.port}", interceptors=[with_metadata(sre)]
        ) as channel:
            stub = ops_grpc.OperationsServiceStub(channel)
            first = await stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="s", page_size=2))
            assert [d.event_id for d in first.dead_letters] == ["e1", "e2"]
            assert first.dead_letters[0].reason == "resident r1 is not known yet"
            assert first.dead_letters[0].group == "g" and first.dead_letters[0].community_id == "c1"
            rest = await stub.ListDeadLetters(
                ops.ListDeadLettersRequest(stream="s", page_token=first.next_page_token)
            )
            assert [d.event_id for d in rest.dead_letters] == ["e3"] and not rest.next_page_token

            e1, e2 = first.dead_letters
            replay = ops.ReplayDeadLetterRequest(stream="s", dead_letter_id=e1.id, request_id="r-1")
            changed = ops.ReplayDeadLetterRequest(
                stream="s", dead_letter_id=e2.id, request_id="r-1"
            )
            answer = await assert_retry_replays(stub.ReplayDeadLetter, replay, changed)
            assert answer.dead_letter.event_id == "e1"
            await until(lambda: applied == ["e1"])

            with pytest.raises(grpc.aio.AioRpcError) as no_reason:
                await stub.DiscardDeadLetter(
                    ops.DiscardDeadLetterRequest(stream="s", dead_letter_id=e2.id)
                )
            assert no_reason.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            await stub.DiscardDeadLetter(
                ops.DiscardDeadLetterRequest(
                    stream="s", dead_letter_id=e2.id, reason="duplicate import"
                )
            )
            with pytest.raises(grpc.aio.AioRpcError) as gone:
                await stub.ReplayDeadLetter(
                    ops.ReplayDeadLetterRequest(stream="s", dead_letter_id=e2.id)
                )
            assert gone.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as other_stream:
                await stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="points.events"))
            assert other_stream.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as bad_token:
                await stub.ListDeadLetters(ops.ListDeadLettersRequest(stream="s", page_token="x"))
            assert bad_token.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await running_app.stop()
    log = [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _, fields in client.xrange(f"{prefix}s.dead.log")
    ]
    assert [(r["action"], r["event_id"], r["actor"]) for r in log] == [
        ("replayed", "e1", "communities/c1/residents/sre-wang"),
        ("discarded", "e2", "communities/c1/residents/sre-wang"),
    ]
    assert log[1]["reason"] == "duplicate import"
    assert next(e for _, e in client.xrange(f"{prefix}s.dead"))[b"source_id"]
    assert applied == ["e1"]


class KitSettings(ServiceSettings):
    """Settings of a stand-in service for the command line."""

    model_config = SettingsConfigDict(env_prefix="LINLI_KITCLI_")


async def test_the_command_line_lists_and_replays(servers, parked, monkeypatch, capsys):
    prefix, applied = parked
    monkeypatch.setenv("LINLI_KITCLI_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("LINLI_KITCLI_REDIS_URL", servers.redis)
    monkeypatch.setenv("LINLI_KITCLI_STREAM_PREFIX", prefix)

    def cli(*argv: str) -> list[dict[str, str]]:
        run_cli("kitcli", KitSettings, lambda s: None, None, list(argv))  # type: ignore[arg-type]
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    listed = await asyncio.to_thread(cli, "dead-letters", "list", "--stream", "s")
    assert [d["event_id"] for d in listed] == ["e1", "e2", "e3"]
    replayed = await asyncio.to_thread(
        cli, "dead-letters", "replay", "--stream", "s", "--id", listed[2]["id"], "--actor", "sre"
    )
    assert replayed[0]["event_id"] == "e3"
    await until(lambda: applied == ["e3"])
    with pytest.raises(SystemExit, match="say why"):
        cli("dead-letters", "discard", "--stream", "s", "--id", listed[0]["id"], "--actor", "x")
