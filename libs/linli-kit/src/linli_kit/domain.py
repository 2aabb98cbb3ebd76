"""Framework-free building blocks for every service's domain and service layer."""

from __future__ import annotations

import abc
import dataclasses
import functools
import hashlib
import inspect
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, Self

from linli_kit.errors import IdempotencyConflict, InvalidArgument
from linli_kit.principals import Principal


class _Entropy(threading.local):
    """Random bytes read from the OS 4 KiB at a time per thread: an id takes a slice of them, not
    a system call (which releases the GIL, so a busy writer waits to take it back each time)."""

    def __init__(self) -> None:
        self.empty()

    def empty(self) -> None:
        """Drop the bytes read so far."""
        self.pool, self.at = b"", 0

    def take(self, size: int) -> bytes:
        """The next `size` unused bytes."""
        if self.at + size > len(self.pool):
            self.pool, self.at = os.urandom(4096), 0
        self.at += size
        return self.pool[self.at - size : self.at]


_ENTROPY = _Entropy()
# A forked child must not hand out the ids its parent still holds.
os.register_at_fork(after_in_child=_ENTROPY.empty)


def new_id(prefix: str) -> str:
    """A 32-character id that starts with a letter (the prefix), as resource names require: the
    rest is 128 random bits in hex."""
    return f"{prefix}{_ENTROPY.take(16).hex()}"[:32]


def new_uuid() -> str:
    """A random (version 4) UUID as text, from the same pool of random bytes as `new_id`."""
    return str(uuid.UUID(bytes=_ENTROPY.take(16), version=4))


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Clock(Protocol):
    """Tells the time; injected so that tests control it."""

    def __call__(self) -> datetime: ...


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """A fact that happened in a community; relayed to a stream through the outbox."""

    community_id: str
    occurred_at: datetime


@dataclass(kw_only=True, eq=False)
class Aggregate:
    """An entity that records the events its behaviour raises until the unit of work commits."""

    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)


class Repository:
    """Sees every aggregate passed to or handed out by its public methods, so none is missed.

    Subclasses write plain methods; the base class wraps each public one so that aggregates in
    its arguments or its result (alone or in a list, tuple or set) are remembered, and the unit
    of work publishes the events they record.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not inspect.isfunction(member):
                continue
            if getattr(member, "__isabstractmethod__", False):
                continue
            setattr(cls, name, _tracking(member))

    @property
    def seen(self) -> list[Aggregate]:
        """The aggregates this repository handed out or was given, in first-seen order."""
        return list(self._seen().values())

    def _seen(self) -> dict[int, Aggregate]:
        try:
            return self.__dict__["_seen_aggregates"]
        except KeyError:
            return self.__dict__.setdefault("_seen_aggregates", {})

    def _track(self, value: Any) -> None:
        if isinstance(value, Aggregate):
            self._seen().setdefault(id(value), value)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                if isinstance(item, Aggregate):
                    self._seen().setdefault(id(item), item)


def _tracking(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def tracked(self: Repository, *args: Any, **kwargs: Any) -> Any:
        for argument in (*args, *kwargs.values()):
            self._track(argument)
        result = method(self, *args, **kwargs)
        self._track(result)
        return result

    return tracked


def _digestible(value: Any) -> Any:
    """Bytes (images, frames) by their hash rather than their text; sets sorted; else text."""
    if isinstance(value, bytes | bytearray):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, set | frozenset):
        return sorted(map(str, value))
    return str(value)


def _argument(value: Any) -> Any:
    """A command's argument as it counts for a retry: the actor by who it is, not their roles."""
    if isinstance(value, Principal):
        return f"{value.kind}|{value.community}|{value.subject}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def fingerprint(command: Any) -> str:
    """A stable digest of a command's arguments, leaving out its request id.

    An actor counts by who they are: another caller reusing the request id is refused rather
    than handed the first caller's answer.
    """
    fields = {
        f.name: _argument(getattr(command, f.name))
        for f in dataclasses.fields(command)
        if f.name != "request_id"
    }
    text = json.dumps([type(command).__name__, fields], sort_keys=True, default=_digestible)
    return hashlib.sha256(text.encode()).hexdigest()


MAX_REQUEST_ID = 200  # the request log's column


def _request_id(command: Any) -> str:
    """The command's request id ('' for none), or InvalidArgument if it cannot be stored."""
    request_id = getattr(command, "request_id", "")
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidArgument(f"request_id must be at most {MAX_REQUEST_ID} characters")
    return str(request_id)


def _operation(command: Any) -> str:
    """The request log's key space: one per command type and community."""
    community_id = getattr(command, "community_id", "")
    return f"{type(command).__name__}:{community_id}" if community_id else type(command).__name__


class RequestLog(abc.ABC):
    """Makes mutating requests idempotent: a retry with the same request id replays the result.

    Request ids are kept per command type and community, so the same id in two communities
    names two requests. A mutation first claims its id (`claim`): a concurrent attempt with the
    same id waits for the first to commit or roll back, then replays its result or, if it rolled
    back, does the work itself. `complete` records the result in the same transaction.
    """

    def replay(self, command: Any) -> str | None:
        """The result reference of an earlier, committed request with this id, or None."""
        request_id = _request_id(command)
        if not request_id:
            return None
        return self._earlier(command, request_id, fingerprint(command))

    def claim(self, command: Any) -> str | None:
        """Reserve the command's request id; if an earlier request has it, that one's result."""
        request_id = _request_id(command)
        if not request_id:
            return None
        digest = fingerprint(command)
        if self._claim(_operation(command), request_id, digest):
            return None
        return self._earlier(command, request_id, digest)

    def complete(self, command: Any, result_ref: str) -> None:
        """Record the result of a claimed request so that a retry replays it."""
        request_id = _request_id(command)
        if request_id:
            self._complete(_operation(command), request_id, result_ref)

    def _earlier(self, command: Any, request_id: str, digest: str) -> str | None:
        found = self._get(_operation(command), request_id)
        if found is None:
            return None
        recorded_digest, result_ref = found
        if recorded_digest != digest:
            raise IdempotencyConflict(
                f"request_id {request_id[:64]!r} was already used with different arguments"
            )
        return result_ref

    @abc.abstractmethod
    def _get(self, operation: str, request_id: str) -> tuple[str, str] | None:
        """The digest and result reference recorded for a request id, if committed."""

    @abc.abstractmethod
    def _claim(self, operation: str, request_id: str, digest: str) -> bool:
        """Record the id as taken unless it is (waiting for a concurrent claim); True if new."""

    @abc.abstractmethod
    def _complete(self, operation: str, request_id: str, result_ref: str) -> None:
        """Store the result reference of a claimed request id."""


class Inbox(abc.ABC):
    """Records which events a consumer has applied, so a redelivery has no second effect."""

    @abc.abstractmethod
    def first_delivery(self, consumer: str, event_id: str) -> bool:
        """Mark the event as applied by this consumer; False if it was applied before."""


class AbstractUnitOfWork(abc.ABC):
    """One atomic piece of work: state, applied events and outgoing events commit together."""

    requests: RequestLog
    inbox: Inbox

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: object) -> None:
        self.rollback()

    def collect_new_events(self) -> Iterator[DomainEvent]:
        """Take the events recorded by every aggregate the repositories handed out."""
        for repository in self.repositories():
            for aggregate in repository.seen:
                while aggregate.events:
                    yield aggregate.events.pop(0)

    def repositories(self) -> list[Repository]:
        """The repositories this unit of work holds, found among its attributes."""
        return [value for value in vars(self).values() if isinstance(value, Repository)]

    @abc.abstractmethod
    def commit(self) -> None:
        """Make the work durable, together with the events it raised."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard whatever was not committed."""
