"""Dead letters an operator can act on: list, inspect, replay or discard, each one recorded.

A consumer parks an entry it cannot apply in `<stream>.dead` (streams.py). Replaying puts its
envelope back on the stream: every consumer group sees it again, and the inbox (one row per
consumer and event id) makes that harmless for groups that applied it already. Replaying or
discarding removes the letter and appends who did what, when and why to `<stream>.dead.log`,
in one MULTI/EXEC, so a letter is never both replayed and kept, nor lost without a record.
A request id makes either action answer a retry with the first result.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from google.protobuf.message import DecodeError
from linli.events.v1 import envelope_pb2

from linli_kit.domain import utc_now
from linli_kit.errors import IdempotencyConflict, InvalidArgument, NotFound
from linli_kit.streams import ENVELOPE_FIELD

MAX_PAGE = 200
REQUEST_TTL_SECONDS = 7 * 86400


@dataclass(frozen=True)
class DeadLetter:
    """One parked entry and what is known of the event in it."""

    id: str
    stream: str
    source_id: str
    group: str
    reason: str
    event_type: str = ""
    event_id: str = ""
    community_id: str = ""
    occurred_at: datetime | None = None


def _text(fields: dict[bytes, bytes], key: bytes) -> str:
    return fields.get(key, b"").decode(errors="replace")


def _letter(stream: str, letter_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    try:
        envelope = envelope_pb2.EventEnvelope.FromString(fields[ENVELOPE_FIELD])
    except (KeyError, DecodeError):
        envelope = envelope_pb2.EventEnvelope()
    return DeadLetter(
        id=letter_id.decode(),
        stream=stream,
        source_id=_text(fields, b"source_id"),
        group=_text(fields, b"group"),
        reason=_text(fields, b"reason"),
        event_type=envelope.type,
        event_id=envelope.event_id,
        community_id=envelope.community_id,
        occurred_at=(
            envelope.occurred_at.ToDatetime(UTC) if envelope.HasField("occurred_at") else None
        ),
    )


def _as_json(letter: DeadLetter) -> dict[str, Any]:
    at = letter.occurred_at
    return {**dataclasses.asdict(letter), "occurred_at": at.isoformat() if at else None}


def _revived(data: dict[str, Any]) -> DeadLetter:
    at = data["occurred_at"]
    return DeadLetter(**{**data, "occurred_at": datetime.fromisoformat(at) if at else None})


@dataclass
class DeadLetters:
    """The dead-letter streams of the streams a service consumes."""

    redis_url: str
    prefix: str
    streams: Sequence[str]  # the consumed streams' names, without the prefix

    def __post_init__(self) -> None:
        self._redis = redis.Redis.from_url(self.redis_url)

    def _stream(self, stream: str) -> str:
        """The full name of a consumed stream, or NotFound."""
        if stream not in self.streams:
            raise NotFound(f"this service consumes no stream {stream[:60]!r}")
        return f"{self.prefix}{stream}"

    def list(self, stream: str, count: int = 50, after: str = "") -> list[DeadLetter]:
        """Letters of a stream, oldest first, after the id given ('' for the first page)."""
        if not 1 <= count <= MAX_PAGE:
            raise InvalidArgument(f"count must be 1 to {MAX_PAGE}")
        start = f"({after}" if after else "-"
        full = self._stream(stream)
        try:
            entries: Any = self._redis.xrange(f"{full}.dead", start, "+", count=count)
        except redis.ResponseError as exc:
            raise InvalidArgument(f"after is not a stream entry id: {after[:40]!r}") from exc
        return [_letter(stream, letter_id, fields) for letter_id, fields in entries]

    def _entry(self, stream: str, letter_id: str) -> tuple[bytes, dict[bytes, bytes]]:
        full = self._stream(stream)
        try:
            found: Any = self._redis.xrange(f"{full}.dead", letter_id, letter_id)
        except redis.ResponseError as exc:
            raise InvalidArgument(f"{letter_id[:40]!r} is not a stream entry id") from exc
        if not found:
            raise NotFound(f"no dead letter {letter_id} in {stream}.dead")
        entry_id, fields = found[0]
        return entry_id, fields

    def replay(self, stream: str, letter_id: str, actor: str, request_id: str = "") -> DeadLetter:
        """Put the letter's entry back on its stream; returns the letter as it was."""
        return self._act("replayed", stream, letter_id, actor, "", request_id)

    def discard(
        self, stream: str, letter_id: str, actor: str, reason: str, request_id: str = ""
    ) -> DeadLetter:
        """Drop the letter for good, with the reason on record; returns the letter as it was."""
        if not reason.strip():
            raise InvalidArgument("say why the letter is discarded")
        return self._act("discarded", stream, letter_id, actor, reason, request_id)

    def _act(
        self, action: str, stream: str, letter_id: str, actor: str, reason: str, request_id: str
    ) -> DeadLetter:
        if not actor.strip():
            raise InvalidArgument("say who acts on the letter")
        full = self._stream(stream)
        request_key = f"{full}.dead.requests:{request_id}" if request_id else ""
        arguments = json.dumps([action, stream, letter_id, actor, reason])
        if request_key and (earlier := self._redis.get(request_key)) is not None:
            recorded = json.loads(earlier)
            if recorded["arguments"] != arguments:
                raise IdempotencyConflict(
                    f"request_id {request_id!r} was already used with different arguments"
                )
            return _revived(recorded["letter"])
        entry_id, fields = self._entry(stream, letter_id)
        letter = _letter(stream, entry_id, fields)
        record: dict[Any, Any] = {
            "action": action,
            "letter_id": letter_id,
            "event_id": letter.event_id,
            "actor": actor,
            "reason": reason,
            "at": utc_now().isoformat(),
        }
        with self._redis.pipeline(transaction=True) as pipe:
            if action == "replayed":
                pipe.xadd(full, {ENVELOPE_FIELD: fields.get(ENVELOPE_FIELD, b"")})
            pipe.xdel(f"{full}.dead", entry_id)
            pipe.xadd(f"{full}.dead.log", record)
            if request_key:
                remembered = {"arguments": arguments, "letter": _as_json(letter)}
                pipe.set(request_key, json.dumps(remembered), ex=REQUEST_TTL_SECONDS)
            pipe.execute()
        return letter

    def close(self) -> None:
        """Release the Redis connection."""
        self._redis.close()
