"""Idempotent requests: the request log replays, remembers and detects reused ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from linli_kit.domain import fingerprint
from linli_kit.errors import IdempotencyConflict, InvalidArgument
from linli_kit.fakes import InMemoryRequestLog


@dataclass(frozen=True)
class Register:
    """A command of the shape every mutating use case takes."""

    name: str
    at: datetime = datetime(2025, 3, 1, tzinfo=UTC)
    request_id: str = ""


@dataclass(frozen=True)
class Rename:
    """Another command with the same fields, to tell operations apart."""

    name: str
    at: datetime = datetime(2025, 3, 1, tzinfo=UTC)
    request_id: str = ""


def _record(log: InMemoryRequestLog, command: object, result_ref: str) -> None:
    """A request done: its id claimed, then its result completed."""
    assert log.claim(command) is None
    log.complete(command, result_ref)


@pytest.fixture
def log() -> InMemoryRequestLog:
    """An empty in-memory request log."""
    return InMemoryRequestLog()


def test_a_new_request_has_nothing_to_replay(log: InMemoryRequestLog) -> None:
    assert log.replay(Register("wang", request_id="q1")) is None


def test_a_completed_request_replays_its_result(log: InMemoryRequestLog) -> None:
    _record(log, Register("wang", request_id="q1"), "r42")

    assert log.replay(Register("wang", request_id="q1")) == "r42"


def test_a_reused_request_id_with_other_arguments_is_a_conflict(log: InMemoryRequestLog) -> None:
    _record(log, Register("wang", request_id="q1"), "r42")

    with pytest.raises(IdempotencyConflict, match="'q1' was already used"):
        log.replay(Register("li", request_id="q1"))


def test_a_different_time_is_a_different_argument(log: InMemoryRequestLog) -> None:
    _record(log, Register("wang", request_id="q1"), "r42")

    with pytest.raises(IdempotencyConflict):
        log.replay(Register("wang", at=datetime(2025, 3, 2, tzinfo=UTC), request_id="q1"))


def test_the_same_arguments_under_a_new_request_id_are_a_new_request(
    log: InMemoryRequestLog,
) -> None:
    _record(log, Register("wang", request_id="q1"), "r42")

    assert log.replay(Register("wang", request_id="q2")) is None


def test_request_ids_are_kept_per_operation(log: InMemoryRequestLog) -> None:
    _record(log, Register("wang", request_id="q1"), "r42")

    assert log.replay(Rename("li", request_id="q1")) is None


def test_requests_without_an_id_are_neither_remembered_nor_replayed(
    log: InMemoryRequestLog,
) -> None:
    _record(log, Register("wang"), "r42")

    assert log.entries == {}
    assert log.replay(Register("wang")) is None


def test_the_log_stores_the_fingerprint_and_result_by_operation_and_id(
    log: InMemoryRequestLog,
) -> None:
    _record(log, Register("wang", request_id="q1"), "r42")

    assert log.entries == {("Register", "q1"): (fingerprint(Register("wang")), "r42")}


def test_the_fingerprint_ignores_the_request_id() -> None:
    assert fingerprint(Register("wang", request_id="q1")) == fingerprint(
        Register("wang", request_id="q2")
    )


def test_the_fingerprint_depends_on_the_arguments_and_the_operation() -> None:
    digests = {
        fingerprint(Register("wang")),
        fingerprint(Register("li")),
        fingerprint(Rename("wang")),
    }

    assert len(digests) == 3
    assert all(len(d) == 64 for d in digests)


@dataclass(frozen=True)
class Enrol:
    """A command carrying image bytes."""

    resident_id: str
    frames: tuple[bytes, ...]
    request_id: str = ""


def test_the_fingerprint_hashes_bytes_instead_of_spelling_them_out() -> None:
    image = bytes(range(256)) * 4096  # 1 MiB
    same = fingerprint(Enrol("r1", (image,), "a"))
    assert same == fingerprint(Enrol("r1", (bytes(image),), "b"))
    assert same != fingerprint(Enrol("r1", (image[:-1] + b"\x00",), "a"))


def test_a_claim_of_a_new_id_is_granted_and_of_a_completed_one_replays(
    log: InMemoryRequestLog,
) -> None:
    assert log.claim(Register("wang", request_id="q1")) is None
    log.complete(Register("wang", request_id="q1"), "r42")
    assert log.claim(Register("wang", request_id="q1")) == "r42"
    with pytest.raises(IdempotencyConflict):
        log.claim(Register("li", request_id="q1"))


@dataclass(frozen=True)
class Reserve:
    """A command of a community."""

    community_id: str
    amount: int
    request_id: str = ""


def test_request_ids_are_kept_per_community(log: InMemoryRequestLog) -> None:
    _record(log, Reserve("east", 100, request_id="q1"), "r1")
    assert log.claim(Reserve("west", 100, request_id="q1")) is None
    assert log.replay(Reserve("east", 100, request_id="q1")) == "r1"


def test_a_request_id_longer_than_its_column_is_refused(log: InMemoryRequestLog) -> None:
    with pytest.raises(InvalidArgument, match="at most 200 characters"):
        log.claim(Register("wang", request_id="q" * 201))
