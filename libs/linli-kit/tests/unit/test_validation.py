"""Field limits from the protos' options, and the defaults for fields that declare none."""

from __future__ import annotations

import contextlib
from datetime import UTC, date

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from google.protobuf.message import Message
from linli.ops.v1 import operations_service_pb2 as ops
from linli.options.v1 import limits_pb2

from linli_kit.auth import public
from linli_kit.calendar import local_date
from linli_kit.errors import InvalidArgument
from linli_kit.grpc_server import GrpcApp, start
from linli_kit.testing import Credentials
from linli_kit.validation import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_TEXT,
    MAX_TIMESTAMP_SECONDS,
    validate,
)

F = descriptor_pb2.FieldDescriptorProto


def _probe_class() -> type[Message]:
    """A message type built at run time, with every kind of field the validator knows."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="linli_kit_tests/validation_probe.proto",
        package="linli_kit_tests",
        syntax="proto3",
        dependency=["linli/options/v1/limits.proto", "google/protobuf/timestamp.proto"],
    )
    inner = proto.message_type.add(name="Inner")
    inner.field.add(name="note", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    probe = proto.message_type.add(name="Probe")

    def add(name: str, number: int, kind: int, **extra: object) -> F:
        label = extra.pop("label", F.LABEL_OPTIONAL)
        return probe.field.add(name=name, number=number, type=kind, label=label, **extra)

    add("name", 1, F.TYPE_STRING)
    short = add("code", 2, F.TYPE_STRING)
    short.options.Extensions[limits_pb2.limits].max_length = 6
    text = add("minutes", 3, F.TYPE_STRING)
    text.options.Extensions[limits_pb2.limits].multiline = True
    amount = add("amount", 4, F.TYPE_INT64)
    amount.options.Extensions[limits_pb2.limits].min = 1
    amount.options.Extensions[limits_pb2.limits].max = 100_000
    add("at", 5, F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp")
    add("tags", 6, F.TYPE_STRING, label=F.LABEL_REPEATED)
    add("inner", 7, F.TYPE_MESSAGE, type_name=".linli_kit_tests.Inner")
    image = add("image", 8, F.TYPE_BYTES)
    image.options.Extensions[limits_pb2.limits].max_length = 16
    add("free", 9, F.TYPE_INT64)
    pool = descriptor_pool.Default()
    with contextlib.suppress(TypeError):  # added by an earlier import of this module
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("linli_kit_tests.Probe"))


Probe = _probe_class()


def test_a_request_within_its_limits_passes() -> None:
    validate(
        Probe(
            name="李娜",
            code="ab12",
            minutes="line one\nline two\ttab",
            amount=300,
            at=timestamp_pb2.Timestamp(seconds=1_740_000_000),
            tags=["a", "b"],
            image=b"\x00" * 16,
            free=2**62,
        )
    )


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"name": "x" * (DEFAULT_MAX_TEXT + 1)}, "name is longer than 1000 characters: 'xxxx"),
        ({"code": "1234567"}, "code is longer than 6 characters"),
        ({"name": "wang\x00"}, "name holds a control character"),
        ({"name": "two\nlines"}, "name holds a control character"),
        ({"minutes": "bell\x07"}, "minutes holds a control character"),
        ({"amount": 0}, "amount must be at least 1"),
        ({"amount": 2**63 - 1}, "amount must be at most 100000"),
        ({"at": timestamp_pb2.Timestamp(seconds=2**40)}, "at must fall in the years 1 to 9999"),
        # 9999-12-31T23:59:59Z is a Timestamp, but already the year 10000 in Asia/Shanghai.
        ({"at": timestamp_pb2.Timestamp(seconds=253_402_300_799)}, "at must fall in the years"),
        ({"at": timestamp_pb2.Timestamp(seconds=0, nanos=-1)}, "at nanos must be"),
        ({"tags": ["t"] * (DEFAULT_MAX_ITEMS + 1)}, "tags has more than 1000 elements"),
        ({"tags": ["ok", "bad\x00"]}, "tags[1] holds a control character"),
        ({"inner": {"note": "\x1b[31m"}}, "inner.note holds a control character"),
        ({"image": b"\x00" * 17}, "image is longer than 16 bytes"),
    ],
)
def test_a_field_past_its_limits_is_refused_naming_it(
    fields: dict[str, object], complaint: str
) -> None:
    with pytest.raises(InvalidArgument, match=complaint.replace("[", r"\[").replace("(", r"\(")):
        validate(Probe(**{"amount": 1, **fields}))


def test_the_last_second_let_in_has_a_date_in_the_policy_calendar() -> None:
    last = timestamp_pb2.Timestamp(seconds=MAX_TIMESTAMP_SECONDS)
    validate(Probe(amount=1, at=last))
    assert local_date(last.ToDatetime(tzinfo=UTC)) == date(9999, 12, 31)


def test_a_long_value_is_quoted_by_a_short_prefix_only() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate(Probe(name="名" * 20_000, amount=1))
    assert len(str(refused.value)) < 120


async def test_every_served_request_is_checked_before_its_handler_runs(
    credentials: Credentials,
) -> None:
    handled: list[str] = []

    async def handler(
        request: ops.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> ops.ListDeadLettersResponse:
        handled.append(request.stream)
        return ops.ListDeadLettersResponse()

    def register(server: grpc.aio.Server) -> None:
        method = grpc.unary_unary_rpc_method_handler(
            handler,
            request_deserializer=ops.ListDeadLettersRequest.FromString,
            response_serializer=ops.ListDeadLettersResponse.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("test.Probe", {"List": method})]
        )

    app = GrpcApp("probe", register, {"test.Probe": {"List": public()}}, credentials.verifier())
    running = await start(app, "127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            call = channel.unary_unary(
                "/test.Probe/List",
                request_serializer=ops.ListDeadLettersRequest.SerializeToString,
                response_deserializer=ops.ListDeadLettersResponse.FromString,
            )
            await call(ops.ListDeadLettersRequest(stream="points.events"))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(ops.ListDeadLettersRequest(stream="points\x00events"))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "stream holds a control character" in (refused.value.details() or "")
    finally:
        await running.stop()
    assert handled == ["points.events"]
