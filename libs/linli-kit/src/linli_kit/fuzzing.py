"""A Hypothesis strategy over protobuf descriptors, and a driver that fuzzes every RPC.

No maintained gRPC fuzzer exists (hypothesis-pb pins protobuf < 4), so requests are drawn
field by field from `DESCRIPTOR.fields`: hostile text (NUL and control characters, huge,
right-to-left, SQL, path tricks), integers at their type's edges, out-of-range enums and
timestamps, big or malformed images, page tokens, and — so that calls get past the first
check — realistic values a test supplies per field name. A call fails the run when it answers
INTERNAL or UNKNOWN, or does not answer within its deadline. Test-only: imports Hypothesis.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli_kit.validation import MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS

FORBIDDEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
_T = FieldDescriptor
_INT_RANGES = {
    _T.TYPE_INT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _T.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _T.TYPE_UINT32: (0, 2**32 - 1),
    _T.TYPE_FIXED32: (0, 2**32 - 1),
    _T.TYPE_INT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _T.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _T.TYPE_UINT64: (0, 2**64 - 1),
    _T.TYPE_FIXED64: (0, 2**64 - 1),
}
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "wang\x00li",
    "\x1b[31mred",
    "line\nbreak",
    "\u202eevil",
    "名" * 300,
    "x" * 20_000,
    "' OR 1=1 --",
    "../../etc/passwd",
    "communities/",
    "communities/demo/residents/",
    "communities/Demo/residents/r1",
    "communities/demo/residents/r1/../../x",
    "%s%s%n",
    "\ud7ff\ue000",
    "😀" * 50,
]
HOSTILE_BYTES = [
    b"",
    b"\x00" * 64,
    b"\xff\xd8\xff\xe0" + b"\x00" * 32,
    b"\x89PNG\r\n\x1a\n",
    b"x" * 200_000,
]
# Zero, huge, the last instant a Timestamp holds, and just outside and exactly at the first and
# last instants the edge lets in (validation's range).
EDGE_SECONDS = [0, -1, 2**40, -(2**40), 253_402_300_799]
EDGE_SECONDS += [MAX_TIMESTAMP_SECONDS + 1, MIN_TIMESTAMP_SECONDS - 1]
EDGE_SECONDS += [MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS]
HOSTILE_TOKENS = [
    base64.urlsafe_b64encode(b"o:99999999999999999999999").decode(),
    base64.urlsafe_b64encode(b"o:-1").decode(),
    base64.urlsafe_b64encode(b"x:1").decode(),
    "!!!not-base64",
]


def _integers(kind: int) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[kind]
    edges = [v for v in (low, high, 0, 1, -1, 59, 60, 2**31 - 1, 2**40, 10**11) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high), st.integers(-5, 100_000))


def _with_control(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The text with a NUL, escape, line break or bidi override spliced in."""
    return st.tuples(text, st.sampled_from(["\x00", "\x1b", "\n", "\u202e", "\x7f"])).map(
        lambda pair: pair[0][: len(pair[0]) // 2] + pair[1] + pair[0][len(pair[0]) // 2 :]
    )


def _text(name: str, known: Mapping[str, Sequence[str]]) -> st.SearchStrategy[str]:
    plain = st.text(max_size=60)
    choices: list[st.SearchStrategy[str]] = [
        st.sampled_from(HOSTILE_TEXT),
        _with_control(plain),
        plain,
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=400),
    ]
    if name == "page_token":
        choices.append(st.sampled_from(HOSTILE_TOKENS))
    if name in known:
        realistic = st.sampled_from(list(known[name]))
        # Realistic values most often, so that calls get past the first check.
        choices = [realistic, realistic, realistic, _with_control(realistic), *choices]
    return st.one_of(choices)


def _scalar(field: FieldDescriptor, known: Mapping[str, Sequence[str]]) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == _T.TYPE_STRING:
        return _text(field.name, known)
    if kind == _T.TYPE_BYTES:
        return st.one_of(st.sampled_from(HOSTILE_BYTES), st.binary(max_size=256))
    if kind == _T.TYPE_BOOL:
        return st.booleans()
    if kind in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        return st.floats(width=32 if kind == _T.TYPE_FLOAT else 64)
    if kind == _T.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.integers(-3, max(numbers) + 5))
    return _integers(kind)


def _timestamps() -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries(
        {
            "seconds": st.one_of(
                st.integers(1_600_000_000, 1_900_000_000),
                st.sampled_from(EDGE_SECONDS),
            ),
            "nanos": st.one_of(st.just(0), st.integers(-(2**31), 2**31 - 1)),
        }
    )


def _value(
    field: FieldDescriptor, known: Mapping[str, Sequence[str]], depth: int
) -> st.SearchStrategy[Any]:
    if field.message_type is None:
        return _scalar(field, known)
    if field.message_type.full_name == "google.protobuf.Timestamp":
        return _timestamps()
    return _fields(field.message_type, known, depth + 1)


def _fields(
    descriptor: Descriptor, known: Mapping[str, Sequence[str]], depth: int
) -> st.SearchStrategy[dict[str, Any]]:
    chosen: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if depth > 3 and field.message_type is not None:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields
            chosen[field.name] = st.dictionaries(
                _value(key, known, depth), _value(value, known, depth), max_size=4
            )
        elif field.is_repeated:
            chosen[field.name] = st.lists(_value(field, known, depth), max_size=6)
        else:
            chosen[field.name] = _value(field, known, depth)
    return st.fixed_dictionaries({}, optional=chosen)


def messages(
    descriptor: Descriptor, known: Mapping[str, Sequence[str]] | None = None
) -> st.SearchStrategy[Message]:
    """Requests of one message type with hostile (and some realistic) values in any field."""
    cls = message_factory.GetMessageClass(descriptor)
    return _fields(descriptor, known or {}, 0).map(lambda values: _build(cls, values))


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    message = cls()
    _assign(message, values)
    return message


def _assign(message: Message, values: dict[str, Any]) -> None:
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if value_field.message_type is None:
                    target[key] = item
                else:
                    _assign(target[key], item)
        elif field.is_repeated:
            for item in value:
                if field.message_type is None:
                    target.append(item)
                else:
                    _assign(target.add(), item)
        elif field.message_type is not None:
            _assign(target, value)
            target.SetInParent()
        else:
            setattr(message, name, value)


def call_once(
    channel: grpc.Channel,
    method: MethodDescriptor,
    request: Message,
    *,
    deadline_seconds: float = 10.0,
    metadata: Sequence[tuple[str, str]] = (),
) -> tuple[grpc.StatusCode, str]:
    """The status one call answers and its message; fail on INTERNAL, UNKNOWN or a missed deadline.

    A server stream counts as answered once it yields its first message or ends; it is then
    cancelled (a watch never ends by itself).
    """
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_cls = message_factory.GetMessageClass(method.output_type)
    serialize, deserialize = (lambda m: m.SerializeToString()), response_cls.FromString
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, serialize, deserialize)(
                request, timeout=deadline_seconds, metadata=metadata
            )
            try:
                next(iter(stream), None)
            finally:
                stream.cancel()
        else:
            channel.unary_unary(path, serialize, deserialize)(
                request, timeout=deadline_seconds, metadata=metadata
            )
    except grpc.RpcError as error:
        code = error.code()
        if code == grpc.StatusCode.CANCELLED and method.server_streaming:
            return grpc.StatusCode.OK, ""
        details = error.details() or ""
        assert code not in FORBIDDEN, f"{path} answered {code.name}: {details}"
        assert code != grpc.StatusCode.DEADLINE_EXCEEDED or method.server_streaming, (
            f"{path} did not answer within {deadline_seconds}s"
        )
        return code, details
    return grpc.StatusCode.OK, ""


def fuzz_method(
    channel: grpc.Channel,
    method: MethodDescriptor,
    *,
    examples: int,
    known: Mapping[str, Sequence[str]] | None = None,
    deadline_seconds: float = 10.0,
    metadata: Sequence[tuple[str, str]] | Callable[[], Sequence[tuple[str, str]]] = (),
) -> Counter[grpc.StatusCode]:
    """Call one RPC with `examples` drawn requests (each through call_once); the answers seen.

    `metadata` may be a function called for each request (a caller of its own per call).
    """
    seen: Counter[grpc.StatusCode] = Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(messages(method.input_type, known))
    def probe(request: Message) -> None:
        per_call = metadata() if callable(metadata) else metadata
        code, _ = call_once(
            channel, method, request, deadline_seconds=deadline_seconds, metadata=per_call
        )
        seen[code] += 1

    probe()
    return seen
