"""Helpers every view uses: times from protobuf, enum names, resource ids, paged lists."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException

from linli_kit.names import MAX_PAGE_SIZE

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def when(message: Any, field: str) -> datetime | None:
    """A Timestamp field as an aware datetime, or None when unset."""
    if not message.HasField(field):
        return None
    stamp = getattr(message, field)
    return datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, UTC)


def enum_name(value: str, prefix: str) -> str:
    """REDEMPTION_STATE_ACTIVE → active."""
    return value.removeprefix(prefix).lower()


def checked_id(value: str, what: str) -> str:
    """A resource id from a URL, or 404 (it names nothing)."""
    if not ID.match(value):
        raise HTTPException(404, f"no such {what}")
    return value


def last(name: str) -> str:
    """The last part of a resource name (its id)."""
    return name.rpartition("/")[2]


async def every_page(
    call: Callable[..., Awaitable[Any]], request: Any, field: str, most: int, **options: Any
) -> list[Any]:
    """The items of a paged list RPC, page after page, up to `most` (for lists with a bound)."""
    request.page_size = min(most, MAX_PAGE_SIZE)
    found: list[Any] = []
    while len(found) < most:
        reply = await call(request, **options)
        found += getattr(reply, field)
        if not reply.next_page_token:
            break
        request.page_token = reply.next_page_token
    return found[:most]
