"""Times between protobuf messages and the domain: aware UTC datetimes, unset fields as None."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from linli_kit.errors import InvalidArgument


def timestamp(at: datetime | None) -> Timestamp | None:
    """A datetime as a timestamp message (None stays unset)."""
    if at is None:
        return None
    message = Timestamp()
    message.FromDatetime(at)
    return message


def optional_time(message: Message, field: str) -> datetime | None:
    """A timestamp field of a message as an aware datetime, or None when it is unset."""
    if not message.HasField(field):
        return None
    value: Timestamp = getattr(message, field)
    return value.ToDatetime(tzinfo=UTC)


def required_time(message: Message, field: str) -> datetime:
    """A timestamp field of a message as an aware datetime, or InvalidArgument when unset."""
    found = optional_time(message, field)
    if found is None:
        raise InvalidArgument(f"{field} is required")
    return found
