"""In-memory 1:N face galleries, one per community, as normalised float32 matrices."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from linli_identity.domain.face import FaceTemplate, TemplateMismatch
from linli_kit.errors import AlreadyExists, NotFound, Unavailable

_INITIAL_CAPACITY = 1024


class Gallery:
    """Enrolled templates of one community; a comparison is one matrix product."""

    def __init__(self, engine: str, model_version: str, dimension: int) -> None:
        self.engine = engine
        self.model_version = model_version
        self.dimension = dimension
        # Rows [0, len) are live; the matrix doubles when full so adds stay amortised O(d).
        self._matrix = np.zeros((_INITIAL_CAPACITY, dimension), dtype=np.float32)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        # Removal moves the last row into the hole; the lock keeps identify from seeing that
        # half done when gRPC worker threads enrol and identify at once.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, resident_id: object) -> bool:
        return resident_id in self._rows

    def add(self, resident_id: str, template: FaceTemplate) -> None:
        """Enrol a resident; raise AlreadyExists if they are enrolled already."""
        self._check(template)
        with self._lock:
            if resident_id in self._rows:
                raise AlreadyExists(f"resident {resident_id} already has a face enrolled")
            self._append(resident_id, template)

    def _append(self, resident_id: str, template: FaceTemplate) -> None:
        # Caller holds the lock.
        if len(self._ids) == self._matrix.shape[0]:
            grown = np.zeros((2 * self._matrix.shape[0], self.dimension), dtype=np.float32)
            grown[: len(self._ids)] = self._matrix[: len(self._ids)]
            self._matrix = grown
        row = len(self._ids)
        self._matrix[row] = template.vector
        self._ids.append(resident_id)
        self._rows[resident_id] = row

    def put(self, resident_id: str, template: FaceTemplate) -> None:
        """Enrol a resident or swap their template, in one step under the lock."""
        self._check(template)
        with self._lock:
            row = self._rows.get(resident_id)
            if row is None:
                self._append(resident_id, template)
            else:
                self._matrix[row] = template.vector

    def replace(self, resident_id: str, template: FaceTemplate) -> None:
        """Swap an enrolled resident's template; raise NotFound if they are not enrolled."""
        self._check(template)
        with self._lock:
            row = self._rows.get(resident_id)
            if row is None:
                raise NotFound(f"resident {resident_id} has no face enrolled")
            self._matrix[row] = template.vector

    def remove(self, resident_id: str) -> bool:
        """Forget a resident's template; True if there was one (idempotent for withdrawal)."""
        with self._lock:
            row = self._rows.pop(resident_id, None)
            if row is None:
                return False
            last = len(self._ids) - 1
            if row != last:
                moved = self._ids[last]
                self._matrix[row] = self._matrix[last]
                self._ids[row] = moved
                self._rows[moved] = row
            # Zero the freed row so a withdrawn template does not linger in memory.
            self._matrix[last] = 0.0
            self._ids.pop()
            return True

    def compare(
        self, probes: Sequence[FaceTemplate], candidates: Sequence[str]
    ) -> tuple[list[str], np.ndarray]:
        """The enrolled ones among the candidates, and each probe's scores with them."""
        for probe in probes:
            self._check(probe)
        vectors = np.stack([probe.vector for probe in probes])
        with self._lock:
            enrolled = [c for c in candidates if c in self._rows]
            rows = [self._rows[c] for c in enrolled]
            scores = vectors @ self._matrix[rows].T if rows else np.zeros((len(probes), 0))
        return enrolled, scores

    def _check(self, template: FaceTemplate) -> None:
        if (template.engine, template.model_version, template.dimension) != (
            self.engine,
            self.model_version,
            self.dimension,
        ):
            raise TemplateMismatch(
                f"this gallery holds {self.engine}/{self.model_version} templates, not "
                f"{template.engine}/{template.model_version}"
            )


class Galleries:
    """The galleries of every community served by this process, made on first use."""

    def __init__(self, engine: str, model_version: str, dimension: int) -> None:
        self._engine = engine
        self._model_version = model_version
        self._dimension = dimension
        self._galleries: dict[str, Gallery] = {}
        self._lock = threading.Lock()

    def for_community(self, community_id: str) -> Gallery:
        """The gallery of one community; an unknown community starts empty."""
        with self._lock:
            gallery = self._galleries.get(community_id)
            if gallery is None:
                gallery = Gallery(self._engine, self._model_version, self._dimension)
                self._galleries[community_id] = gallery
            return gallery


class LoadingGalleries:
    """Galleries that hold callers back until they are filled, so none is answered half-empty.

    The loader fills the wrapped galleries directly and then calls `mark_loaded`; until then
    a caller waits up to `wait_seconds` and then gets Unavailable (retryable).
    """

    def __init__(self, galleries: Galleries, wait_seconds: float = 30.0) -> None:
        self.filling = galleries
        self._loaded = threading.Event()
        self._wait_seconds = wait_seconds

    def mark_loaded(self) -> None:
        """Let callers in: the stored templates are all in memory now."""
        self._loaded.set()

    def for_community(self, community_id: str) -> Gallery:
        """The gallery of one community, once the galleries are loaded."""
        if not self._loaded.wait(self._wait_seconds):
            raise Unavailable("the face galleries are still loading; retry shortly")
        return self.filling.for_community(community_id)
