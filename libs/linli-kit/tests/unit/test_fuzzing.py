"""The descriptor-driven fuzzer finds an RPC that crashes and passes one that refuses cleanly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2
from google.protobuf.descriptor import ServiceDescriptor
from hypothesis import given, settings

from linli_kit.fuzzing import fuzz_method, messages

F = descriptor_pb2.FieldDescriptorProto


def _service() -> ServiceDescriptor:
    proto = descriptor_pb2.FileDescriptorProto(
        name="linli_kit_tests/fuzz_probe.proto",
        package="linli_kit_tests.fuzz",
        syntax="proto3",
        dependency=[timestamp_pb2.DESCRIPTOR.name],
    )
    request = proto.message_type.add(name="Note")
    request.field.add(name="text", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    request.field.add(name="count", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    request.field.add(
        name="at",
        number=3,
        type=F.TYPE_MESSAGE,
        type_name=".google.protobuf.Timestamp",
        label=F.LABEL_OPTIONAL,
    )
    request.field.add(name="tags", number=4, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    service = proto.service.add(name="Probe")
    for name in ("Careful", "Careless"):
        service.method.add(
            name=name,
            input_type=".linli_kit_tests.fuzz.Note",
            output_type=".linli_kit_tests.fuzz.Note",
        )
    pool = descriptor_pool.Default()
    with contextlib.suppress(TypeError):  # added by an earlier import of this module
        pool.Add(proto)
    return pool.FindServiceByName("linli_kit_tests.fuzz.Probe")


SERVICE = _service()
Note = message_factory.GetMessageClass(SERVICE.methods_by_name["Careful"].input_type)


@pytest.fixture
def address() -> Iterator[str]:
    """A server whose Careless RPC crashes on a NUL byte and whose Careful RPC refuses it."""

    def careful(request: bytes, context: grpc.ServicerContext) -> bytes:
        if "\x00" in Note.FromString(request).text:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "text holds a NUL byte")
        return request

    def careless(request: bytes, context: grpc.ServicerContext) -> bytes:
        note = Note.FromString(request)
        if "\x00" in note.text or note.count > 10**10:
            raise ValueError("the database refused it")
        return request

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                SERVICE.full_name,
                {
                    "Careful": grpc.unary_unary_rpc_method_handler(careful),
                    "Careless": grpc.unary_unary_rpc_method_handler(careless),
                },
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def test_a_crashing_rpc_fails_the_run(address: str) -> None:
    with (
        grpc.insecure_channel(address) as channel,
        pytest.raises(AssertionError, match="Careless answered UNKNOWN"),
    ):
        fuzz_method(channel, SERVICE.methods_by_name["Careless"], examples=100)


def test_a_careful_rpc_passes_and_the_statuses_are_counted(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        seen = fuzz_method(channel, SERVICE.methods_by_name["Careful"], examples=100)
    assert sum(seen.values()) >= 50
    assert seen[grpc.StatusCode.INVALID_ARGUMENT] > 0 and seen[grpc.StatusCode.OK] > 0


def test_realistic_values_are_drawn_for_the_fields_named() -> None:
    drawn: list[str] = []

    @settings(max_examples=200, database=None)
    @given(messages(SERVICE.methods_by_name["Careful"].input_type, {"text": ["communities/demo"]}))
    def collect(note: object) -> None:
        drawn.append(note.text)  # type: ignore[attr-defined]

    collect()
    assert "communities/demo" in drawn
    assert any("\x00" in text for text in drawn)
