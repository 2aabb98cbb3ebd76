"""In-memory stand-ins for the runtime ports, for fast unit tests of any service."""

from __future__ import annotations

from linli_kit.domain import Inbox, RequestLog


class InMemoryRequestLog(RequestLog):
    """Request log in a dict; single-threaded, so a claim only checks what was completed."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[str, str]] = {}
        self._claimed: dict[tuple[str, str], str] = {}

    def _get(self, operation: str, request_id: str) -> tuple[str, str] | None:
        return self.entries.get((operation, request_id))

    def _claim(self, operation: str, request_id: str, digest: str) -> bool:
        if (operation, request_id) in self.entries:
            return False
        self._claimed[(operation, request_id)] = digest
        return True

    def _complete(self, operation: str, request_id: str, result_ref: str) -> None:
        digest = self._claimed.pop((operation, request_id))
        self.entries[(operation, request_id)] = (digest, result_ref)


class InMemoryInbox(Inbox):
    """Applied events in a set."""

    def __init__(self) -> None:
        self.applied: set[tuple[str, str]] = set()

    def first_delivery(self, consumer: str, event_id: str) -> bool:
        """Mark the event as applied by this consumer; False if it was applied before."""
        if (consumer, event_id) in self.applied:
            return False
        self.applied.add((consumer, event_id))
        return True
