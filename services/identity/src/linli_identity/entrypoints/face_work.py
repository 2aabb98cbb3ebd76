"""Face work (decode, detect, encode) on a few threads of its own, behind a bounded queue.

The default thread pool is shared by every RPC and has no queue limit: seven large bursts
used to fill it and the server stopped answering. Here at most `workers` face calls run and
`queue` more wait; the next is refused at once with RESOURCE_EXHAUSTED. A call carries the
time its caller still waits, so work for a caller who is gone stops between frames.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc

from linli_identity.service_layer.faces import TimeLeft
from linli_kit.errors import ResourceExhausted

T = TypeVar("T")


def time_left_of(context: grpc.aio.ServicerContext) -> TimeLeft:
    """Seconds until the call's deadline (no deadline: forever)."""
    remaining = context.time_remaining()
    ends = math.inf if remaining is None else time.monotonic() + remaining
    return lambda: ends - time.monotonic()


class FaceWork:
    """A bounded executor for face calls, owned by the app and closed when it stops."""

    def __init__(self, workers: int, queue: int, retry_after_seconds: int = 1) -> None:
        self.capacity = workers + queue
        self._retry_after = retry_after_seconds
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="identity-face")
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Face calls running or waiting now."""
        return self._admitted

    async def run(self, work: Callable[[TimeLeft], T], time_left: TimeLeft) -> T:
        """Run `work(time_left)` on a face thread, or refuse when `capacity` calls are in."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise ResourceExhausted(
                    f"face work is at capacity ({self.capacity} calls)", self._retry_after
                )
            self._admitted += 1
        cancelled = threading.Event()

        def left() -> float:
            return 0.0 if cancelled.is_set() else time_left()

        try:
            # With the caller's context (its principal, its trace), as asyncio.to_thread does.
            future = self._pool.submit(contextvars.copy_context().run, work, left)
        except RuntimeError:  # shut down
            self._release()
            raise
        # The slot is held until the thread is done, not until the caller stops waiting:
        # the bound counts the work, and the work stops at its next check of `left`.
        future.add_done_callback(self._release)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def _release(self, _: object = None) -> None:
        with self._lock:
            self._admitted -= 1

    def close(self) -> None:
        """Refuse new work, drop what waits, let what runs finish on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)
