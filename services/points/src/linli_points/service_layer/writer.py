"""One writer per community, group commit (ARCHITECTURE §2).

Work for a community queues; one drain at a time per community takes what is waiting (up to
`max_batch` items), runs every item in one unit of work under the community's fence, commits
once and answers each caller. An item that raises is answered with its error and the batch is
run again without it, so it fails alone; if the commit itself fails, each item is retried on
its own. Idempotency and the inbox stay per item (each item runs its own use case); the inbox
rows of a batch are written with one statement, and an event found applied before makes the
batch run again with that item seeing a redelivery.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from linli_points.service_layer.ports import DeferredInbox, PointsUnitOfWork

R = TypeVar("R")
U = TypeVar("U", bound=PointsUnitOfWork)
U_co = TypeVar("U_co", bound=PointsUnitOfWork, covariant=True)
Work = Callable[[Any], Any]
# Wraps the writing of one batch, given each caller's context (tracing links them to it).
BatchScope = Callable[[Sequence[contextvars.Context]], contextlib.AbstractContextManager[Any]]


def _no_scope(callers: Sequence[contextvars.Context]) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


@dataclass
class _Item:
    work: Work
    answer: Future[Any] = field(default_factory=Future)
    caller: contextvars.Context = field(default_factory=contextvars.copy_context)


def _holds(queue: deque[_Item], wanted: int) -> bool:
    return len(queue) >= wanted


class Submit(Protocol[U_co]):
    """Queues work on a community's writer, or runs it in a unit of work of its own; the
    future holds its result once committed."""

    def __call__(self, community_id: str, work: Callable[[U_co], R], /) -> Future[R]: ...


class InOwnUnits(Generic[U]):
    """A Submit that runs each work at once in a fresh unit of work (one commit each)."""

    def __init__(self, uow_factory: Callable[[], U]) -> None:
        self.uow_factory = uow_factory

    def __call__(self, community_id: str, work: Callable[[U], R], /) -> Future[R]:
        """Run the work now; its result or error in a done future."""
        answer: Future[R] = Future()
        try:
            answer.set_result(work(self.uow_factory()))
        except Exception as exc:
            answer.set_exception(exc)
        return answer


class CommunityWriter(Generic[U]):
    """Serial, batched writes per community; communities drain in parallel."""

    def __init__(
        self,
        uow_factory: Callable[[], U],
        *,
        max_batch: int = 200,
        communities_at_once: int = 8,
        linger_seconds: float = 0.001,
        batch_scope: BatchScope = _no_scope,
    ) -> None:
        self.uow_factory, self.max_batch, self.linger = uow_factory, max_batch, linger_seconds
        self.batch_scope = batch_scope
        self._queues: dict[str, deque[_Item]] = {}
        self._draining: set[str] = set()
        self._lock = threading.Condition()
        self._pool = ThreadPoolExecutor(communities_at_once, thread_name_prefix="points-writer")
        self.batches = self.items = 0

    def submit(self, community_id: str, work: Callable[[U], R], /) -> Future[R]:
        """Queue work on the community's writer; the future holds its result after the commit."""
        item = _Item(work)
        with self._lock:
            self._queues.setdefault(community_id, deque()).append(item)
            start = community_id not in self._draining
            self._draining.add(community_id)
            self._lock.notify_all()
        if start:
            self._pool.submit(self._drain, community_id)
        return item.answer

    def write(self, community_id: str, work: Callable[[U], R]) -> R:
        """Queue work and wait for its committed result (or its error)."""
        return self.submit(community_id, work).result()

    def close(self) -> None:
        """Finish what is queued and stop the drains."""
        self._pool.shutdown(wait=True)

    def _drain(self, community_id: str) -> None:
        answered = 0
        while True:
            with self._lock:
                queue = self._queues[community_id]
                if not queue:
                    self._draining.discard(community_id)
                    return
                # The callers just answered are likely to come back at once: wait a moment for
                # them, so that the batch holds everyone instead of alternating halves.
                self._lock.wait_for(
                    functools.partial(_holds, queue, min(len(queue) + answered, self.max_batch)),
                    self.linger,
                )
                taken = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
            # A caller that gave up (its future cancelled: a gRPC call the client abandoned) is
            # not written; the others' futures can no longer be cancelled, so each gets its answer.
            batch = [item for item in taken if item.answer.set_running_or_notify_cancel()]
            if batch:
                self.batches, self.items = self.batches + 1, self.items + len(batch)
                self._write(community_id, batch)
            answered = len(taken)

    def _write(self, community_id: str, batch: list[_Item]) -> None:
        pending = batch
        while pending:
            try:
                results, failed = self._attempt(community_id, pending)
            except Exception as exc:  # the commit failed: no item is known to be at fault
                if len(pending) == 1:
                    pending[0].answer.set_exception(exc)
                    return
                for item in pending:
                    self._write(community_id, [item])
                return
            if failed is None:
                for item, result in zip(pending, results, strict=True):
                    item.answer.set_result(result)
                return
            index, error = failed
            pending[index].answer.set_exception(error)
            pending = pending[:index] + pending[index + 1 :]

    def _attempt(
        self, community_id: str, items: list[_Item]
    ) -> tuple[list[Any], tuple[int, BaseException] | None]:
        """Run every item in one unit of work and commit; or the first item that raised."""
        inbox = DeferredInbox()
        while True:
            results = []
            with self.batch_scope([item.caller for item in items]), self.uow_factory() as uow:
                uow.ledger.fence(community_id)
                for index, item in enumerate(items):
                    try:
                        results.append(item.work(uow.item(inbox)))
                    except Exception as exc:
                        return [], (index, exc)
                applied = uow.commit_deliveries(list(inbox.noted))
                if not applied:
                    return results, None
            inbox.restart(applied)  # some events were applied before: run again without them
