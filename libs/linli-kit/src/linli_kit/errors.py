"""Domain errors shared by every service; framework-free, mapped to status codes at the edges."""


class DomainError(Exception):
    """A business rule refused the request; the message is safe to show to the caller."""


class InvalidArgument(DomainError):
    """The request itself is malformed (gRPC INVALID_ARGUMENT, HTTP 400)."""


class NotFound(DomainError):
    """A named resource does not exist (gRPC NOT_FOUND, HTTP 404)."""


class AlreadyExists(DomainError):
    """The resource to create exists already (gRPC ALREADY_EXISTS, HTTP 409)."""


class FailedPrecondition(DomainError):
    """The system is not in a state that allows the request (gRPC FAILED_PRECONDITION, HTTP 409)."""


class PermissionDenied(DomainError):
    """The caller may not do this (gRPC PERMISSION_DENIED, HTTP 403)."""


class Unauthenticated(DomainError):
    """Credentials are missing, malformed, expired or untrusted (gRPC UNAUTHENTICATED, HTTP 401)."""


class ResourceExhausted(DomainError):
    """Too many attempts lately; retry after a while (gRPC RESOURCE_EXHAUSTED, HTTP 429)."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        self.retry_after_seconds = max(1, retry_after_seconds)
        super().__init__(f"{message}; retry after {self.retry_after_seconds} s")


class Unavailable(DomainError):
    """A dependency did not answer; the caller may retry (gRPC UNAVAILABLE, HTTP 503)."""


class IdempotencyConflict(FailedPrecondition):
    """A request id was reused with different arguments."""
