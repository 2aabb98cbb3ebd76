"""Domain errors map to gRPC status codes by their nearest mapped base class."""

from __future__ import annotations

import grpc
import pytest

from linli_kit import errors
from linli_kit.grpc_server import MAX_MESSAGE, message_for, status_for


class ResidentMissing(errors.NotFound):
    """A service's own kind of NotFound."""


class AlreadySignedIn(errors.FailedPrecondition):
    """A service's own kind of FailedPrecondition."""


class TooLate(AlreadySignedIn):
    """A subclass two levels below a mapped class."""


class Unmapped(errors.DomainError):
    """A domain error outside every mapped family."""


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
        (errors.NotFound, grpc.StatusCode.NOT_FOUND),
        (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
        (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
        (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
        (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
        (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
        (errors.IdempotencyConflict, grpc.StatusCode.FAILED_PRECONDITION),
        (ResidentMissing, grpc.StatusCode.NOT_FOUND),
        (AlreadySignedIn, grpc.StatusCode.FAILED_PRECONDITION),
        (TooLate, grpc.StatusCode.FAILED_PRECONDITION),
        (Unmapped, grpc.StatusCode.FAILED_PRECONDITION),
    ],
)
def test_status_for(error: type[errors.DomainError], code: grpc.StatusCode) -> None:
    assert status_for(error("refused")) is code


def test_the_nearest_mapped_base_class_wins() -> None:
    class NotFoundButInvalid(errors.NotFound, errors.InvalidArgument):
        """Both families; NotFound comes first in the MRO."""

    assert status_for(NotFoundButInvalid("x")) is grpc.StatusCode.NOT_FOUND


def test_a_message_never_echoes_a_whole_input() -> None:
    assert message_for(errors.InvalidArgument("short")) == "short"
    long = message_for(errors.InvalidArgument("name " + "名" * 20_000))
    assert len(long) == MAX_MESSAGE and long.endswith("…")


def test_too_many_attempts_say_when_to_retry() -> None:
    error = errors.ResourceExhausted("too many login attempts", retry_after_seconds=30)
    assert status_for(error) is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert message_for(error) == "too many login attempts; retry after 30 s"
