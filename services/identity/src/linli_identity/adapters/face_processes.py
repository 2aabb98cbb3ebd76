"""A FaceEngine whose analyses run in worker processes, each holding its own engine.

dlib's ResNet encoder keeps the GIL for its whole forward pass (~140 ms a frame on the
reference machine), so run on a thread of the server it stalls every other RPC, health
checks included. In worker processes it stalls nobody; the server only waits on a pipe.
The image bytes go to a worker and the DetectedFace (a few KB) comes back. The workers run
at a lower CPU priority, so a node busy with faces still answers everything else.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from linli_identity.service_layer.face_port import DetectedFace, FaceEngine
from linli_kit.errors import DomainError

WORKER_NICENESS = 10
_engine: FaceEngine | None = None  # the engine of this worker process


@dataclass(frozen=True)
class _Refused:
    """A refusal raised in a worker, carried back by class and message.

    The face errors take other arguments than their message, so they do not unpickle.
    """

    kind: type[DomainError]
    message: str

    def error(self) -> DomainError:
        error = DomainError.__new__(self.kind)
        Exception.__init__(error, self.message)
        return error


def _load(make_engine: Callable[[], FaceEngine]) -> None:
    global _engine
    # Ctrl-C reaches the whole process group (make run); the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the server's priority: when the cores are busy with faces, RPCs still get them.
    os.nice(WORKER_NICENESS)
    _engine = make_engine()


def _describe() -> tuple[str, str, int, float]:
    assert _engine is not None
    return _engine.name, _engine.model_version, _engine.dimension, _engine.default_threshold


def _analyse(image_bytes: bytes) -> DetectedFace | _Refused:
    assert _engine is not None
    try:
        return _engine.analyse(image_bytes)
    except DomainError as refused:
        return _Refused(type(refused), str(refused))


class ProcessFaceEngine:
    """FaceEngine over `workers` processes; `make_engine` must pickle (a class, a partial)."""

    def __init__(self, make_engine: Callable[[], FaceEngine], workers: int) -> None:
        # Spawned, not forked: forking a process that runs gRPC threads is unsafe.
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(make_engine,),
        )
        # One call per worker so that every worker starts (and loads its models) now.
        started = [self._pool.submit(_describe) for _ in range(workers)]
        described = started[0].result()
        self.name, self.model_version, self.dimension, self.default_threshold = described

    def analyse(self, image_bytes: bytes) -> DetectedFace:
        """Decode, detect exactly one face, check its quality and encode it, in a worker."""
        result = self._pool.submit(_analyse, image_bytes).result()
        if isinstance(result, _Refused):
            raise result.error()
        return result

    def close(self) -> None:
        """Stop the workers (an analysis under way finishes first)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
