"""Request limits declared once per field in the protos, checked before any handler runs.

A field's limits come from its `(linli.options.v1.limits)` option, else from the defaults
below: no text is stored unchecked, no timestamp falls outside what a database can hold, no
repeated field is unbounded. Messages quote at most a short prefix of the offending value.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from linli.options.v1 import limits_pb2

from linli_kit.errors import InvalidArgument

DEFAULT_MAX_TEXT = 1_000
DEFAULT_MAX_ITEMS = 1_000
# From 0001-01-01T00:00:00Z, where google.protobuf.Timestamp starts, to the last second of 9999
# in the policy's calendar (Asia/Shanghai, UTC+8: 9999-12-31T15:59:59Z), so every instant let in
# has a local date (a Timestamp's own last second, 23:59:59Z, is in the year 10000 there).
MIN_TIMESTAMP_SECONDS, MAX_TIMESTAMP_SECONDS = -62_135_596_800, 253_402_271_999
MAX_DURATION_SECONDS = 315_576_000_000
QUOTED_PREFIX = 24
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTEGER_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}


def quoted(value: str | bytes) -> str:
    """A short, safe quotation of a value for an error message."""
    head = value[:QUOTED_PREFIX]
    return repr(head) + ("…" if len(value) > QUOTED_PREFIX else "")


@dataclass(frozen=True)
class _Rule:
    field: FieldDescriptor
    max_length: int | None
    multiline: bool
    minimum: int | None
    maximum: int | None
    max_items: int


def _rule(field: FieldDescriptor) -> _Rule:
    options = field.GetOptions()
    declared = (
        options.Extensions[limits_pb2.limits]
        if options.HasExtension(limits_pb2.limits)
        else limits_pb2.FieldLimits()
    )
    max_length: int | None = declared.max_length or None
    if max_length is None and field.type == FieldDescriptor.TYPE_STRING:
        max_length = DEFAULT_MAX_TEXT
    return _Rule(
        field,
        max_length,
        declared.multiline,
        declared.min if declared.HasField("min") else None,
        declared.max if declared.HasField("max") else None,
        declared.max_items or DEFAULT_MAX_ITEMS,
    )


@functools.cache
def _rules(descriptor: Descriptor) -> tuple[_Rule, ...]:
    return tuple(_rule(field) for field in descriptor.fields)


def validate(message: Message, prefix: str = "") -> None:
    """Raise InvalidArgument naming the first field of a message that breaks its limits."""
    for rule in _rules(message.DESCRIPTOR):
        field, path = rule.field, f"{prefix}{rule.field.name}"
        value = getattr(message, field.name)
        if field.is_repeated:
            if len(value) > rule.max_items:
                raise InvalidArgument(f"{path} has more than {rule.max_items} elements")
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    _check_map_entry(rule, path, key, item)
            else:
                for index, item in enumerate(value):
                    _check(rule, f"{path}[{index}]", item)
        elif field.message_type is None or message.HasField(field.name):
            _check(rule, path, value)


def _check_map_entry(rule: _Rule, path: str, key: object, item: object) -> None:
    entry = rule.field.message_type
    key_rule = _rules(entry)[0]
    _check(key_rule, f"{path} key", key)
    value_rule = _rules(entry)[1]
    _check(value_rule, f"{path}[{key!r}]", item)


def _check(rule: _Rule, path: str, value: object) -> None:
    kind = rule.field.type
    if kind == FieldDescriptor.TYPE_STRING:
        assert isinstance(value, str)
        _check_text(rule, path, value)
    elif kind == FieldDescriptor.TYPE_BYTES:
        assert isinstance(value, bytes)
        if rule.max_length is not None and len(value) > rule.max_length:
            raise InvalidArgument(f"{path} is longer than {rule.max_length} bytes")
    elif kind == FieldDescriptor.TYPE_MESSAGE:
        assert isinstance(value, Message)
        _check_message(path, value)
    elif kind in _INTEGER_TYPES:
        assert isinstance(value, int)
        if rule.minimum is not None and value < rule.minimum:
            raise InvalidArgument(f"{path} must be at least {rule.minimum}, got {value}")
        if rule.maximum is not None and value > rule.maximum:
            raise InvalidArgument(f"{path} must be at most {rule.maximum}, got {value}")


def _check_text(rule: _Rule, path: str, value: str) -> None:
    if rule.max_length is not None and len(value) > rule.max_length:
        raise InvalidArgument(
            f"{path} is longer than {rule.max_length} characters: {quoted(value)}"
        )
    control = (_CONTROL_BUT_LINES if rule.multiline else _CONTROL).search(value)
    if control is not None:
        raise InvalidArgument(
            f"{path} holds a control character ({control.group()!r} at {control.start()})"
        )


def _check_message(path: str, value: Message) -> None:
    name = value.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        seconds, nanos = value.seconds, value.nanos  # type: ignore[attr-defined]
        if not MIN_TIMESTAMP_SECONDS <= seconds <= MAX_TIMESTAMP_SECONDS:
            raise InvalidArgument(f"{path} must fall in the years 1 to 9999")
        if not 0 <= nanos < 1_000_000_000:
            raise InvalidArgument(f"{path} nanos must be 0 to 999,999,999")
    elif name == "google.protobuf.Duration":
        seconds, nanos = value.seconds, value.nanos  # type: ignore[attr-defined]
        if abs(seconds) > MAX_DURATION_SECONDS or abs(nanos) >= 1_000_000_000:
            raise InvalidArgument(f"{path} is out of range")
    else:
        validate(value, f"{path}.")
